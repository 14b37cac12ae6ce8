"""Ingest: every MQTT message from devices → typed event or dead-letter row.

Runs on the event loop for every message, so it does little: split the topic,
look the device up, let the kind's codec validate, drop QoS 1 redeliveries,
then hand the event to the bus (rules react at once) and the journal (which
acknowledges the message to the broker once it is on disk).  Bad input never
raises out of here: it becomes a dead-letter row with a reason.
"""

from __future__ import annotations

import functools
import logging
import sqlite3
import time
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

from devices.base import MAX_PAYLOAD, check_size, validate_json
from hub.bus import Bus
from hub.commands import Commands
from hub.errors import PayloadError
from hub.events import DeviceEvent, PresenceChanged
from hub.journal import DeadLetter, Entry, Journal
from hub.metrics import Metrics
from hub.registry import Device, Registry
from hub.topics import DeviceTopic
from hub.transport import Incoming

log = logging.getLogger("storehub.ingest")

#: How many recent sequence numbers per device are remembered in memory; older
#: ones are checked against the journal's unique index.
SEQ_WINDOW = 4096


class StatePayload(BaseModel):
    """Birth ``{"online": true, "kind", "model", "fw", "ts"}`` or will ``{"online": false}``."""

    model_config = ConfigDict(frozen=True, extra="ignore", strict=True)

    online: bool
    kind: str | None = None
    model: str | None = None
    fw: str | None = None
    ts: float | None = None

    @model_validator(mode="after")
    def _birth_complete(self) -> StatePayload:
        if self.online:
            missing = [f for f in ("kind", "model", "fw", "ts") if getattr(self, f) is None]
            if missing:
                raise ValueError(f"a birth needs {', '.join(missing)}")
        return self


class SeqTracker:
    """Remembers which ``(device, seq)`` were accepted, to drop redeliveries."""

    def __init__(self, lookup: Callable[[str, int], bool]) -> None:
        self._lookup = lookup  # is (device, seq) in the journal?
        self._recent: dict[str, set[int]] = {}
        self._max: dict[str, int] = {}

    def seen(self, device: str, seq: int) -> bool:
        """True if already seen; otherwise records it and returns False."""
        recent = self._recent.get(device)
        if recent is None:
            recent = self._recent[device] = set()
            self._max[device] = -1
        top = self._max[device]
        if seq in recent:
            return True
        if seq <= top - SEQ_WINDOW and self._lookup(device, seq):
            return True
        recent.add(seq)
        if seq > top:
            self._max[device] = seq
            if len(recent) > 2 * SEQ_WINDOW:
                floor = seq - SEQ_WINDOW
                self._recent[device] = {s for s in recent if s > floor}
        return False

    def preload(self, device: str, seqs: list[int]) -> None:
        if seqs:
            self._recent[device] = set(seqs)
            self._max[device] = max(seqs)


class Ingest:
    def __init__(
        self,
        store: str,
        registry: Registry,
        journal: Journal,
        bus: Bus,
        commands: Commands,
        metrics: Metrics,
        ack: Callable[[Incoming], None],
        reader: Callable[[], sqlite3.Connection],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._registry = registry
        self._journal = journal
        self._bus = bus
        self._commands = commands
        self._metrics = metrics
        self._ack = ack
        self._reader = reader
        self._clock = clock
        self._foreign: dict[str, Device] = {}
        for dev in registry:
            for topic in dev.driver.subscriptions():
                self._foreign[topic] = dev
        self._seq = SeqTracker(self._in_journal)
        self._db: sqlite3.Connection | None = None
        self._last_log: dict[str | None, float] = {}
        self._topics: dict[str, DeviceTopic] = {}
        self._counters: dict[tuple[str, str], Any] = {}
        self.accepted = 0
        self.rejected = 0
        self.duplicates = 0

    def _count(self, kind: str, name: str) -> None:
        counter = self._counters.get((kind, name))
        if counter is None:
            counter = self._counters[(kind, name)] = self._metrics.events_in.labels(kind, name)
        counter.inc()

    @property
    def foreign_topics(self) -> list[str]:
        return list(self._foreign)

    def _in_journal(self, device: str, seq: int) -> bool:
        if self._db is None:
            self._db = self._reader()
        row = self._db.execute(
            "SELECT 1 FROM journal WHERE type='event' AND device=? AND seq=?", (device, seq)
        ).fetchone()
        return row is not None

    def preload(self) -> None:
        """Remember the recent sequence numbers of every device (after a restart)."""
        db = self._reader()
        try:
            for dev in self._registry:
                rows = db.execute(
                    "SELECT seq FROM journal WHERE type='event' AND device=? AND seq IS NOT NULL"
                    " ORDER BY seq DESC LIMIT ?",
                    (dev.id, SEQ_WINDOW),
                ).fetchall()
                self._seq.preload(dev.id, [r[0] for r in rows])
        finally:
            db.close()

    async def handle(self, msg: Incoming) -> None:
        ack = functools.partial(self._ack, msg)
        device_id: str | None = None
        try:
            foreign = self._foreign.get(msg.topic)
            if foreign is not None:
                device_id = foreign.id
                await self._on_foreign(foreign, msg, ack)
                return
            topic = self._topics.get(msg.topic)
            if topic is None:
                topic = DeviceTopic.parse(msg.topic, self._store)
                if len(self._topics) < 100_000:  # valid topics only; bounded
                    self._topics[msg.topic] = topic
            device_id = topic.device
            if topic.channel == "command":
                ack()  # our own command coming back through the wildcard
                return
            device = self._registry.get(topic.device)
            if device is None:
                raise PayloadError("unknown_device", f"no device {topic.device!r} is configured")
            if topic.channel == "event":
                assert topic.name is not None
                await self._on_event(device, topic.name, msg, ack)
            elif topic.channel == "state":
                await self._on_state(device, msg, ack)
            else:
                check_size(msg.payload, MAX_PAYLOAD)
                self._registry.seen(device)
                await self._journal.append(self._commands.on_reply(device.id, msg.payload), ack)
        except PayloadError as exc:
            await self._dead_letter(msg, device_id, exc, ack)

    async def _on_event(
        self, device: Device, name: str, msg: Incoming, ack: Callable[[], None]
    ) -> None:
        payload = device.driver.decode(name, msg.payload)
        seq = payload.seq
        if self._seq.seen(device.id, seq):
            self.duplicates += 1
            self._metrics.duplicates.inc()
            await self._journal.ack_only(ack)
            return
        now = self._clock()
        self._registry.seen(device, now)
        event = DeviceEvent.model_construct(
            type="device_event",
            device=device.id,
            kind=device.kind,
            zone=device.zone,
            name=name,
            seq=seq,
            ts=payload.ts,
            received=now,
            payload=payload,
        )
        self.accepted += 1
        self._count(device.kind, name)
        await self._bus.publish(event)
        await self._journal.append(
            Entry(
                type="event",
                ts=payload.ts,
                received=now,
                device=device.id,
                name=name,
                seq=seq,
                data=msg.payload.decode(errors="replace"),
                stream=device.driver.codec.streams.get(name),
            ),
            ack,
        )

    async def _on_foreign(self, device: Device, msg: Incoming, ack: Callable[[], None]) -> None:
        decoded = device.driver.decode_foreign(msg.topic, msg.payload)
        now = self._clock()
        self._registry.seen(device, now)
        for name, payload in decoded:
            ts = float(getattr(payload, "ts", now))
            event = DeviceEvent.model_construct(
                type="device_event",
                device=device.id,
                kind=device.kind,
                zone=device.zone,
                name=name,
                seq=None,
                ts=ts,
                received=now,
                payload=payload,
            )
            self.accepted += 1
            self._count(device.kind, name)
            await self._bus.publish(event)
            await self._journal.append(
                Entry(
                    type="event",
                    ts=ts,
                    received=now,
                    device=device.id,
                    name=name,
                    data=payload.model_dump_json(),
                )
            )
        await self._journal.ack_only(ack)

    async def _on_state(self, device: Device, msg: Incoming, ack: Callable[[], None]) -> None:
        if not msg.payload:
            await self._journal.ack_only(ack)  # a retained state being cleared
            return
        check_size(msg.payload, MAX_PAYLOAD)
        state = validate_json(StatePayload, msg.payload)
        if state.online and state.kind != device.kind:
            raise PayloadError(
                "kind_mismatch", f"birth says kind {state.kind!r}, config says {device.kind!r}"
            )
        reason = "birth" if state.online else ("retained" if msg.retain else "will_or_clean")
        changed = await self._registry.set_presence(
            device, state.online, reason, model=state.model, fw=state.fw
        )
        await self._journal.append(
            Entry(
                type="state",
                ts=state.ts or self._clock(),
                device=device.id,
                name="state",
                data=msg.payload.decode(),
                stream="device_health" if changed else None,
            ),
            ack,
        )
        if changed:
            await self._bus.publish(
                PresenceChanged(
                    device=device.id,
                    kind=device.kind,
                    zone=device.zone,
                    online=state.online,
                    ts=self._clock(),
                    reason=reason,
                    model=device.model,
                    fw=device.fw,
                )
            )

    async def _dead_letter(
        self, msg: Incoming, device: str | None, exc: PayloadError, ack: Callable[[], None]
    ) -> None:
        self.rejected += 1
        self._metrics.deadletters.labels(device or "", exc.reason).inc()
        now = self._clock()
        if now - self._last_log.get(device, 0.0) >= 60.0:  # once per device a minute
            self._last_log[device] = now
            log.warning("dead-lettered %s from %s: %s", msg.topic, device, exc)
        await self._journal.dead_letter(
            DeadLetter(
                topic=msg.topic,
                device=device,
                reason=exc.reason,
                detail=exc.detail,
                payload=msg.payload,
                ts=now,
            ),
            ack,
        )
