"""Commands to devices: publish, wait for the reply, retry within the expiry.

Every command carries ``id``, ``ts`` and ``expires``.  A device does nothing
with a command past ``expires`` or with an ``id`` it has seen, so re-sending
the *same* payload when no reply came is safe: the device acts at most once.
The outcome is always an explicit value (never an exception for a device that
did not answer): ``ok``, ``rejected`` (the device said no), ``timeout`` (no
reply before ``expires``) or ``unreachable`` (the broker could not be reached).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel, ConfigDict

from devices.base import validate_json
from hub.bus import Bus
from hub.errors import PayloadError, TransportError, UnknownDevice
from hub.events import CommandOutcome, Outcome
from hub.journal import Entry, Journal
from hub.metrics import Metrics
from hub.registry import Registry
from hub.topics import command as command_topic

log = logging.getLogger("storehub.commands")

Publish = Callable[[str, bytes, float], Awaitable[None]]


class Reply(BaseModel):
    """``{"id": str, "ok": bool, "error": str or null, ...}`` (extra fields kept)."""

    model_config = ConfigDict(frozen=True, extra="allow", strict=True)

    id: str
    ok: bool
    error: str | None = None


class Commands:
    def __init__(
        self,
        store: str,
        registry: Registry,
        journal: Journal,
        bus: Bus,
        metrics: Metrics,
        publish: Publish,
        *,
        ttl: float = 10.0,
        retry: float = 2.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._registry = registry
        self._journal = journal
        self._bus = bus
        self._metrics = metrics
        self._publish = publish
        self.ttl = ttl
        self.retry = retry
        self._clock = clock
        self._pending: dict[str, asyncio.Future[Reply]] = {}

    async def send(
        self, device_id: str, name: str, *, ttl: float | None = None, **args: Any
    ) -> CommandOutcome:
        """Send and wait for the outcome. :class:`UnknownDevice` / :class:`CommandError`
        for a device or command that does not exist; anything else is an outcome."""
        device = self._registry.get(device_id)
        if device is None:
            raise UnknownDevice(device_id)
        built = device.driver.codec.build_command(name, args)
        ttl = self.ttl if ttl is None else ttl
        cmd_id = uuid.uuid4().hex
        sent = self._clock()
        expires = sent + ttl
        payload = device.driver.encode(built, id=cmd_id, ts=sent, expires=expires)
        topic = command_topic(self._store, device_id, name)
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._pending[cmd_id] = future
        attempts = 0
        outcome: Outcome = "timeout"
        error: str | None = None
        reply: Reply | None = None
        try:
            while (left := expires - self._clock()) > 0:
                attempts += 1
                try:
                    await self._publish(topic, payload, left)
                except TransportError as exc:
                    outcome, error = "unreachable", str(exc)
                    break
                try:
                    async with asyncio.timeout(min(self.retry, max(expires - self._clock(), 0))):
                        reply = await asyncio.shield(future)
                    break
                except TimeoutError:
                    log.debug("no reply to %s %s yet (attempt %d)", name, cmd_id, attempts)
        finally:
            self._pending.pop(cmd_id, None)
        if reply is not None:
            outcome = "ok" if reply.ok else "rejected"
            error = reply.error
            if not reply.ok and attempts > 1 and "duplicate" in (reply.error or "").lower():
                # Our re-send was refused as a repeat: the device got the first one
                # and its reply was lost. The command was carried out.
                outcome, error = "ok", "confirmed by a duplicate reply (first reply lost)"
        elif outcome == "timeout":
            error = f"no reply within {ttl:g}s"
        result = CommandOutcome(
            id=cmd_id,
            device=device_id,
            name=name,
            args=built.model_dump(mode="json"),
            outcome=outcome,
            error=error,
            attempts=attempts,
            sent=sent,
            finished=self._clock(),
            reply=reply.model_dump() if reply is not None else {},
        )
        self._metrics.commands.labels(name, outcome).inc()
        self._metrics.command_latency.labels(name).observe(result.latency)
        await self._journal.append(
            Entry(
                type="command", ts=sent, device=device_id, name=name, data=result.model_dump_json()
            )
        )
        await self._bus.publish(result)
        return result

    def decode_reply(self, payload: bytes) -> Reply:
        return validate_json(Reply, payload)

    def on_reply(self, device_id: str, payload: bytes) -> Entry:
        """A reply arrived: wake the waiting command; returns the journal entry to
        write. :class:`PayloadError` for a malformed reply."""
        reply = self.decode_reply(payload)
        future = self._pending.get(reply.id)
        if future is not None and not future.done():
            future.set_result(reply)
        elif future is None:
            log.info("reply %s from %s matches no waiting command", reply.id, device_id)
        return Entry(
            type="reply",
            ts=self._clock(),
            device=device_id,
            name=reply.id,
            data=json.dumps(reply.model_dump()),
        )


__all__ = ["Commands", "PayloadError", "Reply"]
