"""Scoring a played scenario: staff work the review queue, then each session's charges
are compared with what its shopper really carried out."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, NamedTuple

from hub.checkout.sales import load_sale
from hub.db import connect_reader
from hub.unmanned import review as rv
from hub.unmanned import sessions as ss
from hub.unmanned.review import Correction
from simulators.store.report import Outcome

if TYPE_CHECKING:
    from simulators.store.runner import StoreRun
    from simulators.store.shoppers import Shopper


async def score(run: StoreRun, *, staff: bool = True) -> tuple[list[Outcome], int]:
    """Work the review queue as staff would with the truth in hand (unless ``staff`` is
    false: the demo leaves it to people on the handheld page), then score every shopper.
    Also: how many reviews there were (staff's work: a dispute among five shoppers is
    one)."""
    svc = run.svc
    by_session = {s.session: s for s in run.shoppers if s.session}
    outcome: dict[str, str] = {}
    worked: set[str] = set()
    # Who took what first (a dispute's decision may queue its rest), then the bills.
    while staff:
        pending = await run.hub.journal.call(lambda c: rv.listing(c, "pending", 10_000))
        disputes = [r for r in pending if r.candidates and r.id not in worked]
        if not disputes:
            break
        for r in disputes:
            worked.add(r.id)
            who = [by_session[c] for c in r.candidates if c in by_session]
            taker, how = await _settle_dispute(run, r, who)
            if taker:
                outcome.setdefault(taker, how)
    reviews: list[rv.Review] = []
    if staff:
        reviews = await run.hub.journal.call(lambda c: rv.listing(c, "pending", 10_000))
    for r in reviews:
        sh = by_session.get(r.session or "")
        # What the shopper carried out that was not charged yet, less what their other
        # reviews ask (the page shows those: a pick decided after the exit's bill, a
        # dispute charged to them whose payment failed).
        got = paid_by(sh, charged_by(run)) if sh else {}
        owed = rv.owed_elsewhere(
            r, await run.hub.journal.call(partial(rv.of_session, session=r.session or ""))
        )
        truth = {g: n - got.get(g, 0) - owed.get(g, 0) for g, n in sh.holding.items()} if sh else {}
        truth = {g: n for g, n in truth.items() if n > 0}
        billed = {ln.gtin: ln.qty for ln in r.bill.lines}
        if billed == truth:
            await svc.decide(r.id, "confirmed", by="staff-sim")
            outcome[r.session or ""] = "confirmed"
        else:
            lines = tuple(Correction(gtin=g, qty=truth.get(g, 0)) for g in {*billed, *truth})
            await svc.decide(r.id, "corrected", by="staff-sim", lines=lines)
            outcome[r.session or ""] = "corrected"
    everything = await run.hub.journal.call(lambda c: rv.listing(c, None, 100_000))
    # A session's charges went through review: its bill's, or a dispute staff charged to
    # it. A dispute's other candidates were not held: their bills were charged as usual.
    reviewed = {r.session for r in everything if r.session}
    # Staff were told of a shopper who may have left with more than was charged.
    told = reviewed | {c for r in everything if r.status == "pending" for c in r.candidates}
    reason = {r.session: r.reason for r in everything}
    charged = charged_by(run)
    # A bill staff settled on whose card then declined is billed right but unpaid:
    # scored by the bill (the money is the payment provider's problem, not a wrong bill).
    for r in everything:
        if r.status == "payment_failed" and r.final is not None and r.session:
            bucket = charged.setdefault(r.session, {})
            for ln in r.final.lines:
                bucket[ln.gtin] = bucket.get(ln.gtin, 0) + ln.qty
    out = []
    for sh in run.shoppers:
        got = paid_by(sh, charged)
        left = sh.exit in ("opened", "emergency", "declined")
        # Out with more of an item than was charged (a tag not read counts only if the
        # item was not billed some other way, e.g. by the counter camera).
        underpaid = any(got.get(g, 0) < n for g, n in sh.holding.items())
        silent = left and underpaid and sh.session not in told and not sh.alarmed
        out.append(
            Outcome(
                sh.n,
                sh.session,
                dict(sh.holding),
                got,
                sh.session in reviewed,
                outcome.get(sh.session or ""),
                sh.exit,
                sh.exit_latency,
                sh.thief,
                sh.alarmed,
                silent,
                reason.get(sh.session) if sh.session else None,
            )
        )
        wrong = not out[-1].exact and not out[-1].reviewed and not sh.thief
        out[-1].trace = trace(run, sh) if wrong else []
    return out, len(everything)


#: Seconds either side of a shopper's hands in which the others' hands at the same shelf
#: are part of their trace.
TRACE_AROUND_S = 3.0


class LoggedHand(NamedTuple):
    """A hand the scenario played (:attr:`StoreRun.hands`), and its line for a person."""

    ts: float
    track: str
    shelf: str
    text: str


def trace(run: StoreRun, sh: Shopper) -> list[str]:
    """What a person needs to see why a charge came out wrong: every hand at the shelves
    the shopper used around their own (:func:`hands_around`), then the session's cart
    lines with their evidence (:func:`cart_lines`)."""
    conn = connect_reader(run.hub.db_path)
    try:
        session = ss.load_one(conn, sh.session) if sh.session else None
    finally:
        conn.close()
    return hands_around(run.hands, sh.track) + (cart_lines(session) if session else [])


def hands_around(
    hands: list[LoggedHand], track: str, around_s: float = TRACE_AROUND_S
) -> list[str]:
    """The lines of the hands at a shelf within ``around_s`` of one of ``track``'s hands
    there, in order."""
    mine = [h for h in hands if h.track == track]
    return [
        h.text
        for h in hands
        if any(m.shelf == h.shelf and abs(m.ts - h.ts) <= around_s for m in mine)
    ]


def cart_lines(session: ss.ShopperSession) -> list[str]:
    """A session's cart lines, each with every sensor's word on it."""
    out = []
    for line in session.cart.values():
        out.append(f"cart {line.gtin} × {line.qty} ({line.confidence:.2f})")
        out.extend(
            f"  {e.ts:.3f} {e.source} {e.device}/{e.slot or '-'} {e.confidence:.2f}"
            f" [{' '.join(e.tracks)}]{': ' + e.note if e.note else ''}"
            for e in line.evidence
        )
    return out


async def _settle_dispute(
    run: StoreRun, r: rv.Review, candidates: list[Shopper]
) -> tuple[str | None, str]:
    """Staff watch the shelf's video: the candidate who carried out more of the item than
    is charged or billed for review yet took it; one who took only part leaves the rest
    to the next; nobody (it went back): dismissed. The taker's session, and how."""
    line = r.bill.lines[0]
    pending = await run.hub.journal.call(lambda c: rv.listing(c, "pending", 10_000))
    charged = charged_by(run)

    def owed(sh: Shopper) -> int:
        billed = sum(
            ln.qty
            for p in pending
            if p.session == sh.session and p.id != r.id
            for ln in p.bill.lines
            if ln.gtin == line.gtin
        )
        return sh.holding.get(line.gtin, 0) - paid_by(sh, charged).get(line.gtin, 0) - billed

    taker = next((sh for sh in candidates if owed(sh) > 0), None)
    if taker is None:
        await run.svc.decide(r.id, "dismissed", by="staff-sim", note="nobody kept it")
        return None, "dismissed"
    qty = min(owed(taker), line.qty)
    rest = any(owed(sh) > 0 for sh in candidates if sh is not taker) and qty < line.qty
    if qty == line.qty:
        await run.svc.decide(r.id, "confirmed", by="staff-sim", session=taker.session)
        return taker.session, "confirmed"
    await run.svc.decide(
        r.id,
        "corrected",
        by="staff-sim",
        session=taker.session,
        lines=(Correction(gtin=line.gtin, qty=qty),),
        keep_rest=rest,
    )
    return taker.session, "corrected"


def paid_by(sh: Shopper, charged: dict[str, dict[str, int]]) -> dict[str, int]:
    """GTIN → units charged to the shopper: their session's sales and counter payments."""
    got = dict(charged.get(sh.session or "", {}))
    for pid in sh.payments:
        for g, q in charged.get(pid, {}).items():
            got[g] = got.get(g, 0) + q
    return got


def charged_by(run: StoreRun) -> dict[str, dict[str, int]]:
    """Payment id prefix (session, or the rfid_box payment id) → GTIN → units."""
    conn = connect_reader(run.hub.db_path)
    try:
        rows = conn.execute(
            "SELECT p.id, p.sale_id FROM payments p WHERE p.status = 'succeeded'"
        ).fetchall()
        reviews = {r.id: r.session for r in rv.listing(conn, None, 100_000)}
        out: dict[str, dict[str, int]] = {}
        for pid, sale_id in rows:
            stored = load_sale(conn, sale_id) if sale_id else None
            if stored is None:
                continue
            key = str(pid)
            if key.startswith("rv-"):
                key = reviews.get(key.removesuffix("-charge")) or key
            elif key.startswith("ss-"):
                key = key.rsplit("-", 1)[0]
            bucket = out.setdefault(key, {})
            for ln in stored[0].lines:
                bucket[ln.gtin] = bucket.get(ln.gtin, 0) + ln.qty
        return out
    finally:
        conn.close()
