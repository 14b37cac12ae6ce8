"""RFID gates in a running hub: direction, tag presence, and the leaving-tag rule.

The built-in plugin ``rules.gate:plugin`` (see :mod:`hub.plugins`).  Data flow::

    bus: DeviceEvent(kind="rfid_gate", name="reads")   (contract Reads, or Zebra ForeignReads)
      │
      ▼
    GateTracker.feed (rules/gate_logic.py) ──▶ every TagChange, batched every 0.5 s:
      │                                          hub.emit(gate, "leaving" | "arrived" | ...)
      │ leaving + exit gate + not paid
      ▼
    PassageBook.add (rules/gate_passage.py)
      ├──▶ hub.spawn(hub.command(gate, "alarm"))   at once, never awaited
      └──▶ hub.spawn(alerts.raise_(unpaid_exit))   one per passage, updated as tags join

The hot path (:meth:`GateService.handle`) is synchronous and touches no disk:
the paid registry and the catalog answer from memory, the alarm and the alert
are spawned, and derived events are only queued — their batching emitter
writes them to the bus and journal.  Contract: the alarm must be published
within 50 ms (p99) of the reads event reaching the hub; see docs/rfid.md and
``bench/rfid.py``.

Other code reaches the catalog and the paid registry through :func:`service`::

    svc = rules.gate.service(hub)
    await svc.ready.wait()
    await svc.paid.mark_paid(epcs, sale_id)
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from devices.rfid_gate.codec import Reads
from devices.rfid_gate.config import RfidGateConfig
from devices.rfid_gate.driver import ForeignReads
from devices.rfid_gate.epc import decode_epc
from hub.alerts import Alerts
from hub.catalog import CatalogError, shared_catalog
from hub.events import BusEvent, DeviceEvent
from hub.paid import PaidRegistry
from rules.gate_logic import GateSettings, GateTracker, Side, TagChange
from rules.gate_passage import Passage, PassageBook, alert_content

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ["AlarmRecord", "Gate", "GateService", "GateTags", "TagReport", "plugin", "service"]

log = logging.getLogger("storehub.rules.gate")

#: Seconds between two looks for departed tags.
TICK_S = 1.0
#: Derived events are batched over this many seconds (a 200-tag cart: a handful of events).
EMIT_EVERY_S = 0.5
#: Tags joining a passage are folded into its alert this long after the first of them.
ALERT_FOLD_S = 0.25
#: Most tags in one derived event.
MAX_TAGS_PER_EVENT = 500


class TagReport(BaseModel):
    """One tag in a derived event."""

    model_config = ConfigDict(frozen=True)

    epc: str
    antenna: int
    side: Side | None
    reads: int
    rssi: float | None = None
    #: ``moved``: the antenna it came from.
    from_antenna: int | None = None
    gtin: str | None = None
    serial: str | None = None
    #: ``leaving`` through an exit gate: whether it was paid.
    paid: bool | None = None
    #: ``leaving`` unpaid: the passage (and so the ``unpaid_exit`` alert) it belongs to.
    passage: str | None = None


class GateTags(BaseModel):
    """Payload of a gate's derived events ``arrived``, ``moved``, ``departed``,
    ``leaving``, ``entering``, ``lingering``: the tags of one batch."""

    model_config = ConfigDict(frozen=True)

    ts: float
    tags: list[TagReport]


@dataclass(frozen=True, slots=True)
class AlarmRecord:
    """An alarm the rule sent, with its timings on the hub's clock (for the bench)."""

    gate: str
    passage: str
    epcs: tuple[str, ...]
    #: When ingest accepted the deciding reads event.
    received: float
    #: When the gate logic took it off the bus.
    handled: float
    #: When the alarm command was spawned.
    decided: float


@dataclass(slots=True)
class Gate:
    id: str
    name: str
    zone: str | None
    config: RfidGateConfig
    tracker: GateTracker
    passages: PassageBook


@dataclass(slots=True)
class _Pending:
    change: TagChange
    paid: bool | None
    passage: str | None


def _is_gate_reads(event: BusEvent) -> bool:
    # Runs inside ingest for every event on the bus: keep it cheap.
    return isinstance(event, DeviceEvent) and event.kind == "rfid_gate" and event.name == "reads"


class GateService:
    """The gates of one hub, its item catalog and its paid registry."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.catalog = shared_catalog(hub)
        self.paid = PaidRegistry(hub.journal, clock=hub.clock)
        #: Set once the catalog and the paid registry are loaded.
        self.ready = asyncio.Event()
        self.gates: dict[str, Gate] = {}
        for device in hub.registry:
            if isinstance(device.config, RfidGateConfig):
                c = device.config
                self.gates[c.id] = Gate(
                    id=c.id,
                    name=c.name or c.id,
                    zone=c.zone,
                    config=c,
                    tracker=GateTracker(GateSettings.from_config(c), clock=hub.clock),
                    passages=PassageBook(c.id, gap_s=c.passage_gap_s, alarm_s=c.alarm_seconds),
                )
        #: The latest alarms sent, with timings.
        self.alarms: deque[AlarmRecord] = deque(maxlen=10_000)
        self._pending: dict[tuple[str, str], list[_Pending]] = {}
        self._folding: set[str] = set()

    @property
    def catalog_file(self) -> Path:
        """``catalog.toml`` beside the store config (until the config names one)."""
        return self.hub.config.source.parent / "catalog.toml"

    # -- life cycle --------------------------------------------------------------

    async def start(self) -> None:
        path = self.catalog_file
        if path.exists():
            try:
                n = await self.catalog.load_seed(path)
                if n is None:
                    log.info("catalog: %s unchanged since it was loaded", path)
                else:
                    log.info("catalog: %d items from %s", n, path)
            except CatalogError as exc:  # a typo in the seed must not stop the gates
                log.error("catalog file not loaded: %s", exc)
        await self.catalog.load()
        await self.paid.load()
        self.ready.set()

    async def run(self) -> None:
        """Load, then follow the gates' reads until cancelled."""
        # Subscribe first: reads that arrive while loading wait in the queue.
        sub = self.hub.bus.subscribe("rules.gate", accept=_is_gate_reads)
        try:
            await self.start()
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self._every(TICK_S, self.tick), name="gate:tick")
                tg.create_task(self._every(EMIT_EVERY_S, self.flush), name="gate:emit")
                while True:
                    event = await sub.get()
                    if isinstance(event, DeviceEvent):
                        try:
                            self.handle(event)
                        except Exception:  # one bad batch must not end the gates
                            log.exception("gate %s: reads not handled", event.device)
                    # Yield after every batch, even with more queued, so a spawned
                    # alarm reaches the transport before the next batch is taken.
                    await asyncio.sleep(0)
        finally:
            sub.close()

    async def _every(self, seconds: float, job: Callable[[], Awaitable[None]]) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await job()
            except Exception:
                log.exception("gate job %s failed", getattr(job, "__name__", job))

    # -- the hot path ------------------------------------------------------------

    def handle(self, event: DeviceEvent) -> bool:
        """Feed one ``reads`` event to its gate; returns whether an alarm was sent."""
        gate = self.gates.get(event.device)
        payload = event.payload
        if gate is None or not isinstance(payload, Reads | ForeignReads):
            return False
        handled = self.hub.clock()
        changes = gate.tracker.feed(payload.reads, sent=payload.ts, received=event.received)
        if not changes:
            return False
        unpaid: list[str] = []
        if gate.config.exit:
            is_paid = self.paid.is_paid
            unpaid = [c.epc for c in changes if c.kind == "leaving" and not is_paid(c.epc)]
        passage: Passage | None = None
        alarmed = False
        if unpaid:
            passage, alarmed = self._unpaid_leaving(gate, unpaid, event.received, handled)
        unpaid_set = set(unpaid)
        for change in changes:
            paid: bool | None = None
            in_passage: str | None = None
            if change.kind == "leaving" and gate.config.exit:
                paid = change.epc not in unpaid_set
                in_passage = None if paid or passage is None else passage.id
            self._pending.setdefault((gate.id, change.kind), []).append(
                _Pending(change, paid, in_passage)
            )
        return alarmed

    def _unpaid_leaving(
        self, gate: Gate, epcs: list[str], received: float, handled: float
    ) -> tuple[Passage | None, bool]:
        hub = self.hub
        step = gate.passages.add(epcs, hub.clock())
        if step is None:
            current = gate.passages.current
            return current, False
        if step.alarm:
            # Spawned first, so it runs before anything else this batch started.
            hub.spawn(
                hub.command(gate.id, "alarm", pattern="theft", seconds=gate.config.alarm_seconds),
                f"alarm:{gate.id}",
            )
            self.alarms.append(
                AlarmRecord(gate.id, step.passage.id, step.added, received, handled, hub.clock())
            )
            log.info("unpaid tag(s) leaving through %s: %s", gate.id, ", ".join(step.added))
        if step.opened:
            hub.spawn(self._raise(gate, step.passage), f"unpaid_exit:{gate.id}")
        elif step.passage.id not in self._folding:
            self._folding.add(step.passage.id)
            hub.spawn(self._fold(gate, step.passage), f"unpaid_exit:{gate.id}:fold")
        return step.passage, step.alarm

    # -- alerts ------------------------------------------------------------------

    async def _raise(self, gate: Gate, passage: Passage) -> None:
        title, data = alert_content(passage, gate.name, self.catalog)
        passage.published = len(passage.epcs)
        await self.hub.alerts.raise_(
            "unpaid_exit",
            "critical",
            title,
            device=gate.id,
            zone=gate.zone,
            data=data,
            key=passage.alert_key,
        )

    async def _fold(self, gate: Gate, passage: Passage) -> None:
        """Republish the passage's alert with the tags that joined it meanwhile."""
        try:
            await asyncio.sleep(ALERT_FOLD_S)
        finally:
            self._folding.discard(passage.id)
        if len(passage.epcs) <= passage.published:
            return
        title, data = alert_content(passage, gate.name, self.catalog)
        passage.published = len(passage.epcs)
        if not await update_alert(self.hub.alerts, passage.alert_key, title=title, data=data):
            # Resolved by staff already: this is news again.
            await self.hub.alerts.raise_(
                "unpaid_exit",
                "critical",
                title,
                device=gate.id,
                zone=gate.zone,
                data=data,
                key=passage.alert_key,
            )

    # -- periodic work -----------------------------------------------------------

    async def tick(self) -> None:
        now = self.hub.clock()
        for gate in self.gates.values():
            for change in gate.tracker.tick(now):
                self._pending.setdefault((gate.id, change.kind), []).append(
                    _Pending(change, None, None)
                )

    async def flush(self) -> None:
        """Emit the derived events gathered since the last flush, one per gate and kind."""
        pending, self._pending = self._pending, {}
        for (gate_id, kind), items in pending.items():
            for start in range(0, len(items), MAX_TAGS_PER_EVENT):
                chunk = items[start : start + MAX_TAGS_PER_EVENT]
                tags = [_report(p) for p in chunk]
                await self.hub.emit(gate_id, kind, GateTags(ts=chunk[-1].change.ts, tags=tags))


def _report(p: _Pending) -> TagReport:
    c = p.change
    decoded = decode_epc(c.epc)
    return TagReport(
        epc=c.epc,
        antenna=c.antenna,
        side=c.side,
        reads=c.reads,
        rssi=c.rssi,
        from_antenna=c.from_antenna,
        gtin=decoded.gtin,
        serial=decoded.serial,
        paid=p.paid,
        passage=p.passage,
    )


async def update_alert(alerts: Alerts, key: str, *, title: str, data: dict[str, Any]) -> bool:
    """Replace the title and data of the live alert ``key`` and republish it (same id).

    Returns ``False`` when no alert with that key is live.  hub/alerts.py has no
    public way to change a live alert's data yet, so this uses its internals as
    its escalation does; to be replaced by ``Alerts.update`` (see docs/rfid.md).
    """
    current = alerts.find(key)
    if current is None:
        return False
    now = alerts._clock()
    updated = current.model_copy(update={"title": title, "data": data, "updated": now})
    alerts._publish(updated)
    await alerts._change(updated, "updated", "tags_added")
    return True


_services: weakref.WeakKeyDictionary[Hub, GateService] = weakref.WeakKeyDictionary()


def service(hub: Hub) -> GateService:
    """The gate service of a hub: its catalog, paid registry and gates (created on
    first use; loaded by the plugin — wait for ``.ready``)."""
    svc = _services.get(hub)
    if svc is None:
        svc = _services[hub] = GateService(hub)
    return svc


async def plugin(hub: Hub) -> None:
    """Built-in plugin: the store's RFID gates, catalog and paid registry."""
    await service(hub).run()
