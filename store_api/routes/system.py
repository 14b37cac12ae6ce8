"""Liveness, readiness, the hub's status, who am I, metrics and the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from hub import queries
from hub.auth import AuditRow
from store_api.auth import AUTH_RESPONSES, FORBIDDEN, Admin, Api, Reader, may_send
from store_api.models import Health, HubStatus, Me, Page, Ready, page

router = APIRouter(tags=["system"])


@router.get("/health", response_model=Health)
async def health() -> Health:
    """Liveness: the API answers. Anonymous; says nothing about the store."""
    return Health()


@router.get("/ready", response_model=Ready, responses={**AUTH_RESPONSES, 503: {"model": Ready}})
async def ready(api: Api, _who: Reader) -> Response:
    """Readiness: the hub has announced itself and is connected to MQTT (503 otherwise)."""
    hub = api.hub
    transport = hub.transport
    body = Ready(
        hub_ready=hub.ready.is_set(),
        mqtt_connected=bool(transport and transport.connected.is_set()),
        ready=False,
    )
    body = body.model_copy(update={"ready": body.hub_ready and body.mqtt_connected})
    return JSONResponse(body.model_dump(), status_code=200 if body.ready else 503)


@router.get("/status", response_model=HubStatus, responses=AUTH_RESPONSES)
async def status(api: Api, _who: Reader) -> HubStatus:
    """The hub at a glance: version, uptime, broker, MQTT, journal queue, devices online."""
    return HubStatus.model_validate(api.hub.status())


@router.get("/me", response_model=Me, responses=AUTH_RESPONSES)
async def me(api: Api, who: Reader) -> Me:
    """The calling token: its name, scopes and what it may do (the handheld page asks)."""
    staff = api.config.staff_commands
    admin = who.allows("admin")
    commands = ["*"] if admin else [c for c in staff if may_send(who, staff, *c.split("/", 1))]
    return Me(
        name=who.name,
        scopes=sorted(who.scopes),
        commands=commands,
        alerts=who.allows("staff"),
        admin=admin,
    )


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        **AUTH_RESPONSES,
        200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format"},
    },
)
async def metrics(api: Api, _who: Reader) -> Response:
    """Prometheus metrics: events in, dead letters by reason, commands by outcome, alerts,
    MQTT reconnects, queue depths, rule timings, API requests. Any token (Prometheus:
    `authorization: {credentials: <token>}`)."""
    return Response(api.metrics.render(), media_type=CONTENT_TYPE_LATEST)


@router.get("/audit", response_model=Page[AuditRow], responses={**AUTH_RESPONSES, **FORBIDDEN})
async def audit(
    api: Api,
    _who: Admin,
    token: Annotated[str | None, Query(description="Only this token's writes")] = None,
    before_id: Annotated[int | None, Query(description="Page back from this id")] = None,
    limit: Annotated[int, Query(ge=1)] = 100,
) -> Page[AuditRow]:
    """Every write the API was asked for, newest first. Scope: admin."""
    limit = min(limit, api.config.max_page)
    rows = await api.read(
        lambda c: queries.audit(c, token=token, before_id=before_id, limit=limit + 1)
    )
    return page(AuditRow, rows, limit)
