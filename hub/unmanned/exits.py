"""The exit of each checkout model: when the door opens, and what is billed.

Rules every model keeps (docs/unmanned.md "Safety"):

- a review never holds the door: an unsure bill is queued for staff and the
  shopper leaves; only an unpaid RFID tag in the exit zone or a declined payment
  keeps the exit shut, and both call staff;
- during an emergency every exit opens without a billing decision (the session
  is marked ``suspended`` and its bill goes to review);
- a vestibule's inner door always opens from inside: nobody is shut in.

``GrabAndGo`` (here): the cart the shelves built is charged when the session's last
person leaves.  ``RfidBox`` (BingoBox, hub/unmanned/rfid_box.py) and ``ExitGate``
(two doors, hub/unmanned/exit_gate.py) build on :class:`Exits` the same way.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from devices.rfid_gate.epc import decode_epc
from hub.checkout.payment import Payment
from hub.events import DeviceEvent
from hub.unmanned.sessions import CartLine, Evidence, ShopperSession

if TYPE_CHECKING:
    from hub.checkout.ledger import Completed, Draft
    from hub.unmanned.service import UnmannedService

log = logging.getLogger("storehub.unmanned.exits")

#: Confidence of a line billed from an RFID read (a tag read is near certain).
RFID_CONFIDENCE = 0.99
#: Of a line billed from the counter camera's count alone (no tag read).
CAMERA_CONFIDENCE = 0.95


class Exits:
    """What all three models share: the exit-zone check, blocking, the bill."""

    def __init__(self, svc: UnmannedService) -> None:
        self.svc = svc
        self.cfg = svc.config

    async def handle(self, event: DeviceEvent) -> None:
        if event.kind == "door" and event.name == "request":
            p: Any = event.payload
            # Resolved now: the shopper's passage may close the session before the
            # decision below has run (an emergency exit opens at once).
            s = self.svc.session_of(p.session, p.track)
            self.svc.hub.spawn(self.request(event.device, s, p.track, event.received), "exit")

    async def request(
        self, door: str, s: ShopperSession | None, track: str | None, t0: float
    ) -> None:
        """Someone asks to leave through ``door``: during an emergency it opens at once,
        otherwise the model decides (:meth:`leave`)."""
        if door != self.cfg.exit_door:
            return
        if self.svc.emergency:
            await self.emergency_exit(door, s, t0)
            return
        await self.leave(door, s, t0)

    async def leave(self, door: str, s: ShopperSession | None, t0: float) -> None:
        """The model's exit decision (no emergency)."""

    async def passage(self, event: DeviceEvent, p: Any) -> None:
        if p.direction == "out" and event.device == self.cfg.exit_door:
            await self.left(self.svc.session_of(p.session, p.track), p.track)

    async def tick(self, now: float) -> None:
        """Periodic work (the counter's settle time)."""

    async def payment_final(self, payment: Payment, draft: Draft, done: Completed | None) -> None:
        """A QR payment this service started became final."""

    # -- shared ---------------------------------------------------------------------

    async def emergency_exit(self, door: str, s: ShopperSession | None, t0: float) -> None:
        """The exits are released: out at once; what the shopper carries is reviewed later."""
        self.svc.open_door(door, s.id if s else None)
        self.svc.decided("emergency", t0)
        if s is not None:
            async with self.svc.carts.lock:
                await self.svc.carts.flush(s)
                if s.items():
                    bill, _ = self.svc.bill(s, device=door)
                    await self.svc.to_review(s, bill, "left during an emergency release")
                    s.cart.clear()
                    s.billed = self.svc.clock()
                    await self.svc.save(s)

    async def zone_clear(
        self, door: str, s: ShopperSession | None, t0: float, *, waited: bool = False
    ) -> bool:
        """After the reads of the exit zone came in (``exit_read_wait_s``, unless the caller
        ``waited``): no unpaid tag there (or no reader). Otherwise the door stays shut
        (:meth:`block`)."""
        reader = self.cfg.exit_reader
        if reader is None:
            return True
        if not waited:
            await asyncio.sleep(self.cfg.exit_read_wait_s)
        unpaid = self.unpaid_in_zone(reader, t0 - self.cfg.zone_window_s)
        if not unpaid:
            return True
        await self.block(door, reader, unpaid, s)
        self.svc.decided("blocked", t0)
        return False

    def unpaid_in_zone(self, reader: str, since: float) -> list[str]:
        paid = self.svc.paid
        seen = self.svc.reads.get(reader, {})
        return sorted(e for e, ts in seen.items() if ts >= since and not (paid and paid.is_paid(e)))

    async def block(
        self, door: str, reader: str, epcs: list[str], s: ShopperSession | None
    ) -> None:
        """Unpaid tags at the exit: the door stays shut, the reader alarms, staff come."""
        items = []
        for epc in epcs:
            d = decode_epc(epc)
            item = self.svc.catalog_get(d.gtin) if d.gtin else None
            items.append(
                {
                    "epc": epc,
                    "gtin": d.gtin,
                    "serial": d.serial,
                    "name": item.name if item else None,
                }
            )
        self.svc.command(reader, "alarm", pattern="theft", seconds=5)
        await self.svc.hub.alerts.raise_(
            "unpaid_at_exit",
            "critical",
            f"{len(epcs)} unpaid item(s) at {door}: the door stays shut",
            device=door,
            data={"items": items, "session": s.id if s else None},
        )

    def rfid_lines(self, reader: str, epcs: Iterable[str], ts: float) -> list[CartLine]:
        by_gtin: dict[str, CartLine] = {}
        for epc in epcs:
            gtin = decode_epc(epc).gtin or epc
            line = by_gtin.setdefault(gtin, CartLine(gtin=gtin, qty=0))
            line.qty += 1
            line.epcs.append(epc)
            line.confidence = RFID_CONFIDENCE
            line.evidence.append(
                Evidence(source="rfid", device=reader, ts=ts, confidence=RFID_CONFIDENCE, epc=epc)
            )
        return list(by_gtin.values())

    async def left(self, s: ShopperSession | None, track: str | None) -> None:
        """A person of the session went out; the session ends with its last person."""
        if track is not None:
            self.svc.carts.fusion.gone({track})  # out of the store: took nothing after this
        if s is None:
            return
        s.exited += 1
        if s.inside == 0 and s.state in ("open", "billing"):
            await self.svc.close(s)
        else:
            await self.svc.save(s)

    async def settle(self, s: ShopperSession, extra: list[CartLine], device: str, t0: float) -> str:
        """Bill the session (+ ``extra`` lines): ``charged``, ``review``, ``empty`` or
        ``declined``. A review or an empty bill never holds the shopper. The shelves'
        decisions wait meanwhile: a pick applied between the bill and the cart's clearing
        would be lost (one decided after goes to review on its own)."""
        async with self.svc.carts.lock:
            outcome = await self._settle(s, extra, device)
            if outcome != "declined":
                s.billed = self.svc.clock()  # (a declined card leaves the cart as it was)
            return outcome

    async def _settle(self, s: ShopperSession, extra: list[CartLine], device: str) -> str:
        svc = self.svc
        await svc.carts.flush(s)
        bill, draft = svc.bill(s, device=device, extra=extra)
        if not bill.lines and not s.doubts:
            return "empty"
        reason = None
        if s.suspended or svc.emergency:
            reason = "billing was suspended by an emergency"
        elif bill.confidence < self.cfg.review_threshold:
            reason = "; ".join(bill.reasons) or f"confidence {bill.confidence:.2f}"
        elif s.pay_token is None:
            reason = "the session has no payment token"
        if reason is not None:
            await svc.to_review(s, bill, reason)
            s.cart.clear()
            return "review"
        done = await svc.charge(s, bill, draft)
        if done is None:
            for line in extra:  # kept with the session: staff letting them out bill it
                for ev in line.evidence:
                    s.add(line.gtin, 1 if ev.epc else line.qty, ev, epc=ev.epc)
            await svc.hub.alerts.raise_(
                "unmanned_payment_failed",
                "critical",
                f"session {s.id}: the payment was declined; the shopper waits at {device}",
                device=device,
                data={"session": s.id, "total": bill.total, "member": s.member},
            )
            return "declined"
        s.cart.clear()
        return "charged"


# -- grab and go ----------------------------------------------------------------------


class GrabAndGo(Exits):
    async def leave(self, door: str, s: ShopperSession | None, t0: float) -> None:
        svc = self.svc
        if s is None or s.inside > 1:
            # An unknown person must not be trapped; a family bills with its last person.
            svc.open_door(door, s.id if s else None)
            svc.decided("open", t0)
            return
        s.state = "billing"
        # The shelves' last events travel on other connections than the door's: give
        # them the same moment the exit readers get before the cart is billed.
        await asyncio.sleep(self.cfg.exit_read_wait_s)
        outcome = await self.settle(s, [], door, t0)
        if outcome == "declined":
            s.state = "open"
            await svc.save(s)
            svc.decided("declined", t0)
            return
        if not await self.zone_clear(door, s, t0, waited=True):
            s.state = "open"
            s.billed = None  # (back inside: what they take now goes on the cart)
            await svc.save(s)
            return
        svc.open_door(door, s.id)
        await svc.save(s)
        svc.decided(outcome, t0)


def make_exits(svc: UnmannedService) -> Exits:
    from hub.unmanned.exit_gate import ExitGate
    from hub.unmanned.rfid_box import RfidBox

    model = svc.config.model
    if model == "rfid_box":
        return RfidBox(svc)
    if model == "exit_gate":
        return ExitGate(svc)
    return GrabAndGo(svc)
