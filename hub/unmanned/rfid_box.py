"""The RFID box exit (BingoBox): the counter reader's unpaid tags are billed once no new
tag came for ``counter_settle_s`` and the counter kiosk shows the QR payment; the exit
opens when every tag the exit reader sees is paid (hub/unmanned/exits.py has the rules
every model keeps).

The counter serves the basket on it: a payment still waiting when another basket's
tags settle there and its own are no longer read was walked away from, and is
cancelled (its tags stay unpaid, so the exit still stops them) instead of holding the
counter until it expires."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hub.checkout.payment import Payment, PaymentError
from hub.checkout.screens import payment_args, receipt_args
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


class RfidBox(Exits):
    def __init__(self, svc: UnmannedService) -> None:
        super().__init__(svc)
        self.counter = _Counter()

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
        window = now - self.cfg.zone_window_s
        fresh = [e for e, ts in seen.items() if ts >= window and e not in c.billed]
        fresh = [e for e in fresh if not (svc.paid and svc.paid.is_paid(e))]
        if not fresh or now - max(seen[e] for e in fresh) < self.cfg.counter_settle_s:
            return
        if c.payment is not None:
            # A new basket, the waiting one's tags gone from the counter: walked away
            # from (a tag of the waiting basket read late is billed after it instead).
            gone = not any(seen.get(e, 0.0) >= window for e in c.epcs)
            if gone and c.cancelled != c.payment:
                c.cancelled = c.payment
                await self.walked_away(c.payment)
            return  # (the new basket is billed once that payment is final)
        await self.bill_counter(sorted(fresh), now)

    async def walked_away(self, payment_id: str) -> None:
        """Another basket settled on the counter while this payment waited, its own tags
        no longer there: cancel it (they stay unpaid: the exit still stops them)."""
        svc = self.svc
        assert svc.cashier is not None
        log.warning("counter payment %s left unpaid for the next basket: cancelled", payment_id)
        await svc.cashier.cancel(payment_id)

    async def bill_counter(self, epcs: list[str], now: float) -> None:
        svc, c = self.svc, self.counter
        assert svc.cashier is not None and self.cfg.counter_reader is not None
        lines = self.rfid_lines(self.cfg.counter_reader, epcs, now)
        bill, draft = svc.bill(
            None, device=self.cfg.counter_kiosk or self.cfg.counter_reader, extra=lines
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
        c.payment, c.epcs = pid, tuple(epcs)
        c.billed.update(epcs)
        svc.m_bills.labels("qr").inc()
        if self.cfg.counter_kiosk:
            args = payment_args(payment, svc.cashier.expires.get(pid))
            svc.command(self.cfg.counter_kiosk, "payment", **args)

    async def payment_final(self, payment: Payment, draft: Draft, done: Completed | None) -> None:
        c, svc = self.counter, self.svc
        if payment.id != c.payment:
            return
        c.payment = None
        if done is None:
            c.billed.difference_update(c.epcs)  # still unpaid: the next read bills them again
        elif self.cfg.counter_kiosk:
            svc.command(self.cfg.counter_kiosk, "receipt", **receipt_args(done))
        if done is not None:
            await svc.receipt(None, done)
        if self.cfg.counter_kiosk:
            svc.command(self.cfg.counter_kiosk, "payment", **payment_args(payment, None))
