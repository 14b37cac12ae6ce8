"""The store API: a FastAPI app made from a running hub.

    phone / HQ / Prometheus ─HTTP─▶ auth (bearer token, scope) ─▶ routes ─┬─▶ hub (command, alerts)
                                      └─ audit log of every write          └─▶ read-only SQLite

It reads state and submits commands through the hub; it never talks MQTT
itself.  Its lifespan owns only the API's own state (:class:`ApiState`): the
hub is already running and outlives it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from hub import __version__
from store_api.audit import AuditMiddleware
from store_api.metrics import MetricsMiddleware
from store_api.routes import (
    alerts,
    devices,
    esl,
    events,
    paid,
    rules,
    stream,
    system,
    unmanned,
    vision,
)
from store_api.state import ApiState

if TYPE_CHECKING:
    from hub.hub import Hub

STATIC = Path(__file__).resolve().parent / "static"

DESCRIPTION = """
The API of one store's hub: devices and their presence, the journal of events,
dead letters, staff alerts, rules, metrics and a live stream.

**Auth.** Every endpoint but `/health` (and the handheld page at `/`) needs a
bearer token: `Authorization: Bearer <token>`. Make one with
`storehub token create NAME --scope staff|hq|admin`. No or a bad token → 401,
a token without the scope an endpoint needs → 403. Scopes:

* `staff` — read everything; acknowledge, resolve, assign and annotate alerts;
  send the commands the store config allows staff (`api.staff_commands`,
  default `door/open` and `esl/led`); decide unmanned checkout reviews and let
  out a shopper whose payment was declined;
* `hq` — read everything; prices (to come);
* `admin` — everything, including any command and rules reload/enable/disable.

Every write (POST/PUT/PATCH/DELETE) is recorded in the audit log with the
token's name, allowed or not (`GET /audit`, admin).

**Paging.** Lists return `{"items": [...], "next": cursor}`; `next` is null on
the last page.
"""

TAGS = [
    {"name": "system", "description": "Health, readiness, status, metrics, audit log"},
    {"name": "devices", "description": "Devices, presence and commands"},
    {"name": "events", "description": "The journal, device events and dead letters"},
    {"name": "alerts", "description": "Staff alerts and their lifecycle"},
    {"name": "rules", "description": "The rules engine"},
    {"name": "stream", "description": "Live alerts and events (Server-Sent Events)"},
    {"name": "unmanned", "description": "Unmanned checkout: shopper sessions, bills to review"},
]


def create_app(hub: Hub) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = ApiState(hub)
        app.state.api = state
        try:
            yield
        finally:
            await state.aclose()

    app = FastAPI(
        title=f"storehub store API — store {hub.store_id}",
        version=__version__,
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
    )
    app.add_middleware(AuditMiddleware)
    app.add_middleware(MetricsMiddleware)
    app.add_exception_handler(RequestValidationError, _bad_request)
    for module in (system, devices, events, alerts, rules, stream, paid, esl, vision, unmanned):
        app.include_router(module.router)

    @app.get("/", include_in_schema=False)
    async def handheld() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


async def _bad_request(request: Request, exc: Exception) -> JSONResponse:
    """422 with one readable sentence first (``body.args: ...``) and the details after."""
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    first = errors[0] if errors else {}
    where = ".".join(str(p) for p in first.get("loc", ())) or "request"
    msg = str(first.get("msg", "invalid request")).removeprefix("Value error, ")
    more = f" ({len(errors) - 1} more)" if len(errors) > 1 else ""
    return JSONResponse(
        {
            "detail": f"{where}: {msg}{more}",
            "errors": [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in errors],
        },
        status_code=422,
    )
