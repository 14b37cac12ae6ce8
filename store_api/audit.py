"""The audit log: every write request (POST/PUT/PATCH/DELETE), allowed or not.

A plain ASGI middleware: it sees the request body as it streams past and the
status the app answered, and records who (the token's name, left in
``request.state.principal`` by the auth dependency), what, and how it ended,
through the hub's single writer.
"""

from __future__ import annotations

import json
import logging
import re
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub import auth
from hub.auth import AuditRow, Principal

if TYPE_CHECKING:
    from store_api.state import ApiState

log = logging.getLogger("storehub.api.audit")

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: Bytes of a body kept to summarise it, and characters of the summary.
BODY_KEEP = 4096
SUMMARY_MAX = 500
_SECRET = re.compile(r"token|password|secret", re.IGNORECASE)


def summarize(body: bytes) -> str:
    """A short, single-line summary of a request body with secrets redacted."""
    if not body:
        return ""
    try:
        value = json.loads(body)
    except ValueError:
        text = body.decode("utf-8", errors="replace")
        return text[:SUMMARY_MAX]
    text = json.dumps(_redact(value), separators=(",", ":"), ensure_ascii=False)
    return text if len(text) <= SUMMARY_MAX else text[: SUMMARY_MAX - 1] + "…"


def _redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: "***" if _SECRET.search(str(k)) else _redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v) for v in value]
    return value


class AuditMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WRITES:
            await self.app(scope, receive, send)
            return
        body = bytearray()
        status = 500

        async def receive_and_keep() -> Message:
            message = await receive()
            if message["type"] == "http.request" and len(body) < BODY_KEEP:
                body.extend(message.get("body", b"")[: BODY_KEEP - len(body)])
            return message

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        state: ApiState = scope["app"].state.api
        try:
            await self.app(scope, receive_and_keep, send_and_note)
        except BaseException:
            # Cancelled or crashed: still record it, without waiting here.
            state.hub.spawn(self._record(state, scope, bytes(body), status), "audit")
            raise
        await self._record(state, scope, bytes(body), status)

    @staticmethod
    async def _record(state: ApiState, scope: Scope, body: bytes, status: int) -> None:
        who = scope.get("state", {}).get("principal")
        client = scope.get("client")
        row = AuditRow(
            ts=state.hub.clock(),
            token=who.name if isinstance(who, Principal) else None,
            method=scope["method"],
            path=scope["path"],
            body=summarize(body),
            status=status,
            client=client[0] if client else None,
        )
        try:
            await state.write(lambda c: auth.record(c, row))
        except Exception:  # the write itself went through; losing its trace is logged loudly
            log.exception("could not write the audit row for %s %s", row.method, row.path)
        log.info(
            "%s %s by %s → %d",
            row.method,
            row.path,
            row.token or "(no token)",
            status,
            extra={"audit": row.body},
        )
