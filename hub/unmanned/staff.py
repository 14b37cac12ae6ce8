"""What staff do to sessions and bills: work the review queue, let a shopper out.

A decision is final once: the review is re-read under the service's lock, the
bill staff settled on (the original, or corrected) is stored with it, then
charged to the session's payment token.  A provider that fails outright leaves
the review pending with the error, so it can be decided again; a declined token
ends as ``payment_failed`` and calls staff.

A dispute (a pick one of its ``candidates`` made) is confirmed or corrected with the
``session`` staff saw take it, charged to that session's token; ``keep_rest`` leaves
what staff did not charge to it in the queue as a new dispute (two of them took one
each).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hub.catalog import GtinError, normalise_gtin
from hub.checkout.payment import PaymentError
from hub.unmanned import review as rv
from hub.unmanned import sessions as ss
from hub.unmanned.billing import Bill, make_bill
from hub.unmanned.sessions import CartLine, Evidence

if TYPE_CHECKING:
    from hub.unmanned.service import UnmannedService

DECISIONS: frozenset[str] = frozenset({"confirmed", "corrected", "dismissed"})


def _gtin(text: str) -> str:
    try:
        return normalise_gtin(text)
    except GtinError as exc:
        raise ValueError(str(exc)) from None


async def decide(
    svc: UnmannedService,
    review_id: str,
    decision: rv.Status,
    *,
    by: str,
    lines: tuple[rv.Correction, ...] = (),
    note: str | None = None,
    session: str | None = None,
    keep_rest: bool = False,
) -> rv.Review:
    """:class:`~hub.unmanned.review.ReviewError` for an unknown or decided review,
    ``ValueError`` for a decision that is not one (or a dispute charged to no session,
    or a session given for another's bill), :class:`PaymentError` when the provider
    could not be reached (the review stays pending)."""
    if decision not in DECISIONS:
        raise ValueError(f"{decision!r} is not a decision ({', '.join(sorted(DECISIONS))})")
    journal = svc.hub.journal
    found = await journal.call(lambda c: rv.load(c, review_id))
    if found is None:
        raise rv.ReviewError(f"no review {review_id}")
    r = found
    if r.status != "pending":
        raise rv.ReviewError(f"review {review_id} is already {r.status}")
    if r.candidates and decision != "dismissed":
        if not session:
            raise ValueError(
                f"review {review_id} is a dispute: say which session took it"
                f" ({', '.join(r.candidates)})"
            )
        taker = session
        if await journal.call(lambda c: ss.load_one(c, taker)) is None:
            raise ValueError(f"no session {taker}")
    elif session is not None and session != r.session:
        raise ValueError(f"review {review_id} is the bill of session {r.session}, not {session}")
    now = svc.clock()
    r = r.model_copy(update={"decided_by": by, "decided_at": now, "note": note, "corrected": lines})
    if r.candidates and session:
        r = r.model_copy(update={"session": session})
    if decision == "dismissed":
        done = r.model_copy(update={"status": "dismissed"})
        await journal.call(lambda c: rv.save(c, done))
        await _resolve_if_empty(svc)
        return done
    staff = Evidence(source="staff", device=by, ts=now, confidence=1)
    cart = {
        ln.gtin: CartLine(
            gtin=ln.gtin, qty=ln.qty, epcs=list(ln.epcs), evidence=[*ln.evidence, staff]
        )
        for ln in r.bill.lines
    }
    if decision == "corrected":
        for c in lines:
            gtin = _gtin(c.gtin)
            if c.qty == 0:
                cart.pop(gtin, None)
            else:
                kept = cart.get(gtin)
                cart[gtin] = CartLine(
                    gtin=gtin, qty=c.qty, epcs=kept.epcs[: c.qty] if kept else [], evidence=[staff]
                )
    bill, draft = make_bill(
        list(cart.values()),
        lookup=svc.catalog_get,
        promotions=tuple(svc.promotions()),
        currency=svc.currency,
        default_tax=svc.default_tax,
        now=now,
        store=svc.hub.store_id,
        session=r.session,
        device=r.bill.device,
        member=r.bill.member,
    )
    r = r.model_copy(update={"status": decision, "final": bill})
    session_id = r.session or ""
    s = await journal.call(lambda c: ss.load_one(c, session_id))
    if bill.total == 0:
        r = r.model_copy(update={"status": "cleared"})
    elif s is None or s.pay_token is None:
        r = r.model_copy(update={"status": "payment_failed", "error": "no payment token"})
    else:
        assert svc.cashier is not None
        try:
            sale = await svc.cashier.charge(f"{r.id}-charge", draft, s.pay_token)
        except PaymentError as exc:
            pending = r.model_copy(update={"status": "pending", "error": str(exc)})
            await journal.call(lambda c: rv.save(c, pending))
            raise
        if sale is None:
            r = r.model_copy(update={"status": "payment_failed", "error": "declined"})
            await svc.hub.alerts.raise_(
                "unmanned_payment_failed",
                "warning",
                f"review {r.id}: the session's payment was declined",
                data={"review": r.id, "session": r.session},
            )
        else:
            r = r.model_copy(update={"status": "charged", "sale_id": sale.sale.id, "error": None})
            await svc.receipt(r.session, sale)
    final = r
    await journal.call(lambda c: rv.save(c, final))
    if final.candidates and keep_rest:
        await _rest(svc, final, bill)
    await _resolve_if_empty(svc)
    return final


async def _rest(svc: UnmannedService, r: rv.Review, charged: Bill) -> None:
    """What a dispute's decision did not charge, back in the queue as a new dispute."""
    got = {ln.gtin: ln.qty for ln in charged.lines}
    rest = [
        CartLine(
            gtin=ln.gtin,
            qty=ln.qty - got.get(ln.gtin, 0),
            confidence=ln.confidence,
            evidence=list(ln.evidence),
        )
        for ln in r.bill.lines
        if ln.qty > got.get(ln.gtin, 0)
    ]
    if not rest:
        return
    bill, _ = svc.bill(None, device=r.bill.device, extra=rest)
    why = f"the rest of {r.id} (its decision charged {r.session} part of it): {r.reason}"
    await svc.to_review(None, bill, why, candidates=r.candidates)


async def _resolve_if_empty(svc: UnmannedService) -> None:
    if not await svc.hub.journal.call(lambda c: rv.listing(c, "pending", 1)):
        await svc.hub.alerts.resolve(key="unmanned_review")


async def let_out(svc: UnmannedService, session_id: str, *, by: str) -> rv.Review | None:
    """The exit opens for a shopper whose payment was declined; the bill goes to the
    review queue (charged once the shopper sorted out payment). ``LookupError`` for an
    unknown or closed session."""
    s = svc.sessions.get(session_id)
    if s is None:
        raise LookupError(f"no open session {session_id}")
    review = None
    if s.items():
        bill, _ = svc.bill(s, device=svc.config.exit_door)
        review = await svc.to_review(s, bill, f"payment declined; let out by {by}")
        s.cart.clear()
    door = svc.config.exit_door
    outer = getattr(svc.exits, "outer", None)
    if svc.config.model == "exit_gate" and isinstance(outer, str):
        door = outer
    if door:
        svc.open_door(door, s.id)
    await svc.save(s)
    return review
