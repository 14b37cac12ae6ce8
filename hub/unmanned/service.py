"""Unmanned checkout in a running hub: the plugin ``hub.unmanned.service:plugin``.

    entry door credential (app QR token / card) ─┐
    kiosk card (entrance kiosk) ──────────────────┼─▶ open a session ─▶ door open(session)
    member_seen (face, enrolled members only) ────┘
    door passage in (session, track) ──▶ the track joins the session (a family: several)
    shelf weight / action / people / hand ──▶ carts (hub/unmanned/carts.py): picks and
        put-backs into the sessions' carts
    rfid_gate reads ──▶ what each reader sees now (counter, exit zone, vestibule)
    exit requests / counter ──▶ the store's checkout model (hub/unmanned/exits.py)
    flag emergency ──▶ every exit opens, billing decisions suspended (reviewed later)

The exit decision, the review queue and the sessions are reached by the store API
through :func:`service`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from hub.catalog import Item
from hub.checkout.paying import Cashier
from hub.checkout.payment import Payment
from hub.checkout.service import service as checkout_service
from hub.events import BusEvent, DeviceEvent
from hub.journal import Entry
from hub.paid import PaidRegistry
from hub.state import FlagChanged
from hub.state import attach as attach_flags
from hub.unmanned import review as rv
from hub.unmanned import sessions as ss
from hub.unmanned.billing import Bill, make_bill, merged
from hub.unmanned.carts import Carts
from hub.unmanned.config import UnmannedConfig
from hub.unmanned.entry import Entrance
from hub.unmanned.metrics import metrics
from hub.unmanned.sessions import ShopperSession

if TYPE_CHECKING:
    from hub.checkout.ledger import Completed, Draft
    from hub.hub import Hub
    from hub.unmanned.exits import Exits

log = logging.getLogger("storehub.unmanned")

TICK_S = 0.1


class UnmannedService:
    def __init__(self, hub: Hub, config: UnmannedConfig | None = None) -> None:
        self.hub = hub
        self.config = config or hub.config.store.unmanned
        self.clock = hub.clock
        self.sessions: dict[str, ShopperSession] = {}
        self.by_track: dict[str, str] = {}
        #: reader → EPC → when it was last read.
        self.reads: dict[str, dict[str, float]] = {}
        #: camera → (ts, GTIN → units, unsure): its latest item count.
        self.counted: dict[str, tuple[float, dict[str, int], bool]] = {}
        #: door → (session, until): the session the door was last opened for.
        self.opened_for: dict[str, tuple[str, float]] = {}
        self.emergency = False
        self.entrance = Entrance(self)
        self.carts = Carts(self)
        self.catalog_get: Callable[[str], Item | None] = lambda _g: None
        self.paid: PaidRegistry | None = None
        self.cashier: Cashier | None = None
        self.promotions: Callable[[], Any] = tuple
        self.currency = "CNY"
        self.default_tax = Decimal("0.13")
        self.exits: Exits | None = None
        self.ready = asyncio.Event()
        #: One staff decision at a time: two taps on "confirm" must not charge twice.
        self.deciding = asyncio.Lock()
        self.m_sessions, self.m_refused, self.m_bills, self.m_exit = metrics(hub.metrics.registry)

    # -- life cycle --------------------------------------------------------------

    async def start(self) -> None:
        from hub.unmanned.exits import make_exits

        co = checkout_service(self.hub)
        try:
            async with asyncio.timeout(15):
                await co.ready.wait()
        except TimeoutError:  # checkout is not running in this hub: start its parts here
            await co.start()
        catalog = co.catalog
        assert catalog is not None
        self.catalog_get = catalog.get
        self.paid = co.paid
        self.currency = co.config.currency
        self.default_tax = co.default_tax
        published = getattr(co, "promotions", None)
        if callable(published):
            self.promotions = published
        else:
            self.promotions = lambda: co.config.promotions
        self.cashier = Cashier(
            self.hub.journal,
            co.provider,
            co.stock,
            co.paid,
            self._on_final,
            spawn=self.hub.spawn,
            timeout_s=co.config.payment_timeout_s,
            poll_s=co.config.payment_poll_s,
            lock_s=co.config.payment_timeout_s + 60,
            auto_einvoice=co.config.auto_einvoice,
            clock=self.clock,
        )
        for s in await self.hub.journal.call(ss.load_open):
            self.sessions[s.id] = s
            for t in s.tracks:
                self.by_track[t] = s.id
        flags = await attach_flags(self.hub)
        self.emergency = flags.get("emergency") is True
        await self.entrance.reload_keys()
        self.exits = make_exits(self)
        self.ready.set()

    async def run(self) -> None:
        sub = self.hub.bus.subscribe("unmanned", accept=self._accept)
        try:
            await self.start()
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self._ticker(), name="unmanned:tick")
                async for event in sub:
                    try:
                        await self.handle(event)
                    except Exception:  # one bad event must not stop the store's doors
                        log.exception("unmanned: event not handled: %s", event)
        finally:
            sub.close()

    def _accept(self, event: BusEvent) -> bool:
        if isinstance(event, FlagChanged):
            return event.name == "emergency"
        return isinstance(event, DeviceEvent) and event.kind in (
            "door",
            "shelf",
            "rfid_gate",
            "kiosk",
            "camera",
            "frigate",
        )

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            try:
                await self.tick()
            except Exception:
                log.exception("unmanned tick failed")

    async def tick(self) -> None:
        now = self.clock()
        # Reads older than the zone window count for nothing: forget them.
        horizon = now - self.config.zone_window_s
        for reader, seen in self.reads.items():
            self.reads[reader] = {e: ts for e, ts in seen.items() if ts >= horizon}
        await self.carts.due(now)
        assert self.exits is not None
        await self.exits.tick(now)
        for s in list(self.sessions.values()):
            if s.state == "open" and now - s.opened > self.config.session_timeout_s:
                await self.time_out(s)

    # -- events ------------------------------------------------------------------

    async def handle(self, event: BusEvent) -> None:
        if isinstance(event, FlagChanged):
            await self.set_emergency(event.value is True, by=event.by)
            return
        assert isinstance(event, DeviceEvent) and self.exits is not None
        p: Any = event.payload
        kind, name = event.kind, event.name
        if kind == "door" and name == "credential":
            await self.entrance.credential(event.device, p.method, p.value)
        elif kind == "door" and name == "passage":
            await self.entrance.passage(event, p)
        elif kind == "kiosk" and name == "card":
            door = getattr(self.hub.registry.get(event.device), "config", None)
            entry = getattr(door, "entry_door", None) or self.config.entry_door
            await self.entrance.open_by_card(entry, p.token, via_device=event.device)
        elif name == "items" and event.device == self.config.vestibule_camera:
            self.counted[event.device] = (p.ts, {c.gtin: c.count for c in p.counts}, p.review)
            return
        elif name == "member_seen" and event.device == self.config.face_camera:
            await self.entrance.open_by_face(p.member)
        elif kind == "shelf" and self.carts.knows(event.device):
            self.carts.shelf(event, p)
            return
        elif kind == "rfid_gate" and name == "reads":
            seen = self.reads.setdefault(event.device, {})
            floor = self.config.min_rssi
            for r in p.reads:
                if r.rssi is None or r.rssi >= floor:
                    seen[r.epc.upper()] = max(seen.get(r.epc.upper(), 0.0), r.ts)
        await self.exits.handle(event)

    # -- sessions ------------------------------------------------------------------

    def session_of(self, session: str | None, track: str | None) -> ShopperSession | None:
        if session and session in self.sessions:
            return self.sessions[session]
        if track and track in self.by_track:
            return self.sessions.get(self.by_track[track])
        return None

    async def save(self, s: ShopperSession) -> None:
        now = self.clock()
        await self.hub.journal.call(lambda c: ss.save(c, s, now))

    async def close(self, s: ShopperSession, state: ss.State = "closed") -> None:
        s.state = state
        s.closed = self.clock()
        self.sessions.pop(s.id, None)
        for t in s.tracks:
            if self.by_track.get(t) == s.id:
                del self.by_track[t]
        self.carts.closed(s)
        await self.save(s)
        await self.journal_event(
            "session_closed", {"session": s.id, "state": state, "sales": s.sales}
        )

    async def time_out(self, s: ShopperSession) -> None:
        await self.hub.alerts.raise_(
            "unmanned_session_timeout",
            "warning",
            f"session {s.id} is open since {time.strftime('%H:%M', time.localtime(s.opened))}",
            data={"session": s.id, "member": s.member, "inside": s.inside},
        )
        if s.items():
            bill, _ = self.bill(s, device=None)
            await self.to_review(s, bill, "the session timed out")
        await self.close(s, "timed_out")

    # -- bills and payments ------------------------------------------------------------

    def bill(
        self,
        s: ShopperSession | None,
        *,
        device: str | None,
        extra: list[ss.CartLine] | None = None,
        owner: ShopperSession | None = None,
        member: str | None = None,
    ) -> tuple[Bill, Draft]:
        """The bill of ``s``'s cart (and doubts) plus ``extra`` lines; with no ``s``, of
        ``extra`` alone, for ``owner`` when given (its session and member prices: the
        RFID box's counter, a shopper who identified there), or for ``member``."""
        whose = s or owner
        return make_bill(
            merged(list(s.cart.values()) if s is not None else [], extra or []),
            doubts=tuple(s.doubts) if s is not None else (),
            lookup=self.catalog_get,
            promotions=tuple(self.promotions()),
            currency=self.currency,
            default_tax=self.default_tax,
            now=self.clock(),
            store=self.hub.store_id,
            session=whose.id if whose else None,
            device=device,
            member=whose.member if whose else member,
        )

    async def charge(self, s: ShopperSession, bill: Bill, draft: Draft) -> Completed | None:
        """Charge the session's payment token; the sale, or None when declined."""
        assert self.cashier is not None and s.pay_token is not None
        pid = f"{s.id}-{len(s.sales) + len(s.reviews) + 1}"
        done = await self.cashier.charge(pid, draft, s.pay_token)
        self.m_bills.labels("charged" if done else "declined").inc()
        if done is not None:
            s.sales.append(done.sale.id)
            await self.receipt(s.id, done)
        return done

    async def to_review(
        self,
        s: ShopperSession | None,
        bill: Bill,
        reason: str,
        *,
        candidates: tuple[str, ...] = (),
    ) -> rv.Review:
        r = rv.new_review(bill, reason, self.clock(), candidates=candidates)
        await self.hub.journal.call(lambda c: rv.save(c, r))
        self.m_bills.labels("review").inc()
        if s is not None:
            s.reviews.append(r.id)
        await self.hub.alerts.raise_(
            "unmanned_review",
            "info",
            f"a bill of {len(bill.lines)} lines needs a look: {reason}",
            data={"review": r.id, "session": bill.session},
            key="unmanned_review",
        )
        return r

    async def receipt(self, session: str | None, done: Completed) -> None:
        """The receipt goes to the shopper's app through the cloud outbox (``receipts``)."""
        data = {"session": session, "sale": done.sale.id, "einvoice": done.einvoice}
        data["receipt"] = done.receipt
        await self.journal_event("receipt", data, stream="receipts")

    async def _on_final(self, payment: Payment, draft: Draft, done: Completed | None) -> None:
        assert self.exits is not None
        await self.exits.payment_final(payment, draft, done)

    # -- doors -------------------------------------------------------------------------

    def open_door(self, door: str, session: str | None) -> None:
        seconds = self.config.open_seconds
        self.opened_for[door] = (session or "", self.clock() + seconds + 2)
        self.hub.spawn(self._command(door, "open", seconds=seconds, session=session), "door")

    async def _command(self, device: str, name: str, **args: Any) -> None:
        outcome = await self.hub.command(device, name, **args)
        if not outcome.ok:
            log.warning("%s %s: %s %s", device, name, outcome.outcome, outcome.error or "")

    def command(self, device: str, name: str, **args: Any) -> None:
        self.hub.spawn(self._command(device, name, **args), f"unmanned:{name}")

    async def set_emergency(self, on: bool, *, by: str) -> None:
        """Emergency release (the doors rule sends ``release``/``lock``): while on, exits
        open without a billing decision; sessions inside are reviewed afterwards."""
        if on == self.emergency:
            return
        self.emergency = on
        log.warning("emergency %s (by %s)", "on" if on else "over", by)
        for s in self.sessions.values():
            if on:
                s.suspended = True
                await self.save(s)

    def decided(self, decision: str, started: float) -> None:
        took = self.clock() - started
        self.m_exit.labels(self.config.model, decision).observe(took)

    async def journal_event(
        self, name: str, data: dict[str, Any], *, stream: str | None = None
    ) -> None:
        now = self.clock()
        await self.hub.journal.append(
            Entry(type="unmanned", ts=now, name=name, data=json.dumps(data), stream=stream)
        )

    # -- staff (hub/unmanned/staff.py) ------------------------------------------------

    async def let_out(self, session_id: str, *, by: str) -> rv.Review | None:
        """Staff let out a shopper whose payment was declined (see :func:`staff.let_out`)."""
        from hub.unmanned import staff

        return await staff.let_out(self, session_id, by=by)

    async def decide(
        self,
        review_id: str,
        decision: rv.Status,
        *,
        by: str,
        lines: tuple[rv.Correction, ...] = (),
        note: str | None = None,
        session: str | None = None,
        keep_rest: bool = False,
    ) -> rv.Review:
        """Confirm, correct or dismiss a pending review; for a dispute, ``session`` is who
        took it (see :func:`staff.decide`)."""
        from hub.unmanned import staff

        async with self.deciding:
            return await staff.decide(
                self,
                review_id,
                decision,
                by=by,
                lines=lines,
                note=note,
                session=session,
                keep_rest=keep_rest,
            )


def service(hub: Hub) -> UnmannedService | None:
    return hub.service(UnmannedService)


async def plugin(hub: Hub) -> None:
    """Built-in plugin: runs when ``[unmanned] enabled = true``."""
    if not hub.config.store.unmanned.enabled:
        return
    svc = UnmannedService(hub)
    hub.provide(svc)
    await svc.run()
