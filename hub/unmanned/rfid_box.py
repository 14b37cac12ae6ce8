"""The RFID box exit (BingoBox): the counter reader's unpaid tags are billed once no new
tag came for ``counter_settle_s`` and the counter kiosk shows the QR payment; the exit
opens when every tag the exit reader sees is paid (hub/unmanned/exits.py has the rules
every model keeps).

The counter serves the basket on it: a payment still waiting when another basket's
tags settle there and its own are no longer read was walked away from, and is
cancelled (its tags stay unpaid, so the exit still stops them) instead of holding the
counter until it expires; laid down again, it is shown on the kiosk again.

A shopper who identifies at the counter kiosk (its ``member`` event: the app's member
code scanned) has the counter's bill made for their session: member prices, the sale
on the session, the receipt to their app. Identified while an anonymous payment
waits for the basket still on the counter, that payment is cancelled and the basket
billed again for them."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hub.checkout.payment import Payment, PaymentError
from hub.checkout.screens import payment_args, receipt_args
from hub.events import DeviceEvent
from hub.unmanned.exits import Exits, log
from hub.unmanned.sessions import ShopperSession

if TYPE_CHECKING:
    from hub.checkout.ledger import Completed, Draft
    from hub.unmanned.service import UnmannedService


@dataclass(slots=True)
class _Counter:
    billed: set[str] = field(default_factory=set)
    payment: str | None = None
    epcs: tuple[str, ...] = ()
    count: int = 0
    #: The waiting payment cancelled for the next basket (asked once).
    cancelled: str | None = None
    #: The session (or a member with none open here) that identified at the counter,
    #: since when; the session the waiting payment is for.
    owner: ShopperSession | None = None
    member: str | None = None
    since: float = 0.0
    paying_for: ShopperSession | None = None
    #: The waiting payment's basket is off the counter (shown again when it is back).
    away: bool = False
    #: When the waiting payment's bill was made (a tag read since, not on it, is late).
    billed_at: float = 0.0
    #: A bill is being made (its payment not started yet), or a payment's end handled:
    #: nothing else is billed meanwhile, or a tick would bill the same tags again.
    busy: bool = False

    @contextlib.contextmanager
    def one_at_a_time(self) -> Iterator[None]:
        self.busy = True
        try:
            yield
        finally:
            self.busy = False

    #: Tags of a payment that did not go through → when: billed again only when read
    #: after that (not from the reads that made the failed bill).
    retry: dict[str, float] = field(default_factory=dict)


#: How long an identification at the counter waits for a basket to bill.
IDENTIFIED_S = 60.0


class RfidBox(Exits):
    def __init__(self, svc: UnmannedService) -> None:
        super().__init__(svc)
        self.counter = _Counter()

    async def handle(self, event: DeviceEvent) -> None:
        if event.name == "member" and event.device == self.cfg.counter_kiosk:
            p: Any = event.payload
            await self.identified(p.member, event.received)
        await super().handle(event)

    async def identified(self, member: str, now: float) -> None:
        """A member identified at the counter: the next bill there (or the anonymous one
        waiting) is theirs, for their open session if they have one."""
        c, svc = self.counter, self.svc
        mine = [s for s in svc.sessions.values() if s.member == member]
        c.owner = max(mine, key=lambda s: s.opened) if mine else None
        c.member, c.since = member, now
        log.info("counter: member %s identified (session %s)", member, c.owner and c.owner.id)
        if c.payment is None or c.paying_for is not None or svc.cashier is None:
            return
        # An anonymous payment waits: theirs if its basket is still on the counter (the
        # shopper laid it down first), else one walked away from (left to tick()).
        seen = svc.reads.get(self.cfg.counter_reader or "", {})
        if not self.waiting_basket_here(seen, now - self.cfg.zone_window_s):
            return
        waiting, epcs = c.payment, list(c.epcs)
        await svc.cashier.cancel(waiting)  # (final: payment_final frees the counter)
        if c.payment is None and not any(svc.paid and svc.paid.is_paid(e) for e in epcs):
            await self.bill_counter(epcs, now)

    async def leave(self, door: str, s: ShopperSession | None, t0: float) -> None:
        svc = self.svc
        if not await self.zone_clear(door, s, t0):
            return
        svc.open_door(door, s.id if s else None)
        svc.decided("open", t0)

    async def tick(self, now: float) -> None:
        c, svc = self.counter, self.svc
        reader = self.cfg.counter_reader
        if reader is None:
            return
        seen = svc.reads.get(reader, {})
        if c.payment is None:
            # Tags no longer read at the counter need no memory of having been billed.
            c.billed &= set(seen)
            c.retry = {e: t for e, t in c.retry.items() if e in seen}
        window = now - self.cfg.zone_window_s
        here = self.waiting_basket_here(seen, window)
        if c.payment is not None:
            await self.shown_again(c.payment, here)
        fresh = self.fresh(seen, window)
        if not fresh or now - max(seen[e] for e in fresh) < self.cfg.counter_settle_s:
            return
        if c.payment is not None:
            # A new basket, the waiting one's tags gone from the counter: walked away
            # from (a tag of the waiting basket read late is billed after it instead).
            if not here and c.cancelled != c.payment:
                c.cancelled = c.payment
                await self.walked_away(c.payment)
            return  # (the new basket is billed once that payment is final)
        await self.bill_counter(sorted(fresh), now)

    def waiting_basket_here(self, seen: dict[str, float], since: float) -> bool:
        """Whether a tag of the waiting payment's basket was read at the counter since
        ``since`` (the basket is on the counter)."""
        return any(seen.get(e, 0.0) >= since for e in self.counter.epcs)

    async def shown_again(self, payment_id: str, here: bool) -> None:
        """The waiting payment's basket left the counter and is laid down again (the
        shopper came back, e.g. stopped at the exit for a tag read late): the kiosk
        shows that payment again."""
        c, svc = self.counter, self.svc
        if not here:
            c.away = True
            return
        if not c.away or svc.cashier is None or not self.cfg.counter_kiosk:
            return
        c.away = False
        payment = svc.cashier.payments.get(payment_id)
        if payment is not None and not payment.final:
            args = payment_args(payment, svc.cashier.expires.get(payment_id))
            svc.command(self.cfg.counter_kiosk, "payment", **args)

    def fresh(self, seen: dict[str, float], since: float) -> list[str]:
        """Tags read at the counter since ``since`` that are neither paid nor billed (or
        were billed by a payment that failed, and read again after it)."""
        c, paid = self.counter, self.svc.paid
        return [
            e
            for e, ts in seen.items()
            if ts >= since
            and (e not in c.billed or ts > c.retry.get(e, float("inf")))
            and not (paid and paid.is_paid(e))
        ]

    async def walked_away(self, payment_id: str) -> None:
        """Another basket settled on the counter while this payment waited, its own tags
        no longer there: cancel it (they stay unpaid: the exit still stops them)."""
        svc = self.svc
        assert svc.cashier is not None
        log.warning("counter payment %s left unpaid for the next basket: cancelled", payment_id)
        await svc.cashier.cancel(payment_id)

    async def bill_counter(self, epcs: list[str], now: float) -> None:
        c = self.counter
        if c.busy:
            return  # (its tags stay fresh: billed once that bill is made, if not on it)
        with c.one_at_a_time():
            await self._bill_counter(epcs, now)

    async def _bill_counter(self, epcs: list[str], now: float) -> None:
        svc, c = self.svc, self.counter
        assert svc.cashier is not None and self.cfg.counter_reader is not None
        lines = self.rfid_lines(self.cfg.counter_reader, epcs, now)
        if c.member is not None and now - c.since > IDENTIFIED_S:
            c.owner, c.member = None, None  # (identified long ago, and nothing billed)
        bill, draft = svc.bill(
            None,
            device=self.cfg.counter_kiosk or self.cfg.counter_reader,
            extra=lines,
            owner=c.owner,
            member=c.member,  # (a member with no session open here: member prices)
        )
        unknown = [ln for ln in bill.lines if ln.confidence == 0]
        if unknown:
            await svc.hub.alerts.raise_(
                "unmanned_unknown_item",
                "warning",
                f"{len(unknown)} tag(s) at the counter are of no catalog item",
                device=self.cfg.counter_reader,
                data={"epcs": [e for ln in unknown for e in ln.epcs]},
            )
        if bill.total == 0:
            c.billed.update(epcs)
            return
        c.count += 1
        pid = f"box-{svc.hub.store_id}-{int(now * 1000)}-{c.count}"
        try:
            payment = await svc.cashier.start(pid, draft)
        except PaymentError as exc:
            log.warning("counter payment not started: %s", exc)
            return
        c.payment, c.epcs, c.paying_for, c.away = pid, tuple(epcs), c.owner, False
        c.billed_at = now
        c.billed.update(epcs)
        for e in epcs:
            c.retry.pop(e, None)
        svc.m_bills.labels("qr").inc()
        if self.cfg.counter_kiosk:
            args = payment_args(payment, svc.cashier.expires.get(pid))
            svc.command(self.cfg.counter_kiosk, "payment", **args)

    async def payment_final(self, payment: Payment, draft: Draft, done: Completed | None) -> None:
        c = self.counter
        if payment.id != c.payment:
            return
        # Nothing else is billed until this is through: a tick billing the tags read
        # late meanwhile would bill them without their shopper, and twice.
        with c.one_at_a_time():
            await self._payment_final(payment, done)

    async def _payment_final(self, payment: Payment, done: Completed | None) -> None:
        c, svc = self.counter, self.svc
        c.payment, owner, c.paying_for = None, c.paying_for, None
        now = svc.clock()
        if done is None:
            # Still unpaid: billed again when read again (the shopper lays them down anew).
            c.retry.update(dict.fromkeys(c.epcs, now))
        elif self.cfg.counter_kiosk:
            svc.command(self.cfg.counter_kiosk, "receipt", **receipt_args(done))
        if done is not None:
            c.owner, c.member = None, None  # (the next shopper identifies anew)
            if owner is not None:
                owner.sales.append(done.sale.id)
                await svc.save(owner)
            await svc.receipt(owner.id if owner else None, done)
        if self.cfg.counter_kiosk:
            svc.command(self.cfg.counter_kiosk, "payment", **payment_args(payment, None))
        reader = self.cfg.counter_reader
        if done is not None and reader is not None:
            # Tags read while this basket was paid that it did not bill: this shopper's,
            # read late. Billed to them now, never with the next basket's.
            since = min(c.billed_at, now - self.cfg.zone_window_s)
            late = self.fresh(svc.reads.get(reader, {}), since)
            if late:
                c.owner, c.member, c.since = owner, owner.member if owner else None, now
                await self._bill_counter(sorted(late), now)
                c.owner, c.member = None, None
