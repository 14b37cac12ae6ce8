"""Carts: grab-and-go shelves' picks and put-backs applied to shopper sessions.

    shelf weight / action / people / hand ──▶ ShelfFusion (hub/unmanned/shelves.py)
        ──▶ Pick (who took or put back what, how sure, the evidence) ──▶ the cart

:class:`~hub.unmanned.shelves.ShelfFusion` decides who took what; this applies it:
the pick goes to the cart of the session its shopper belongs to; a pick one of several
shoppers' sessions may have made, the sensors unable to tell whose, goes on nobody's
cart but to the review queue on its own as a *dispute* naming them (staff say who took
it; the others' bills are charged at their exit without waiting); an unsure put-back
among shoppers of several sessions who hold the item takes a unit off each of their
carts and asks staff who kept theirs (a dispute too); otherwise an unsure put-back's
other candidates who hold the item get a doubt; a pick nobody known made is an alert;
an unsure put-back leaves a doubt on the cart it came off; a put-back by a shopper who was not
billed for the item doubts whoever was billed for it from a crowd that shopper was in;
a pick decided after its shopper's cart was billed at the exit (its reading reached the
hub late) is billed on its own, through review.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from devices.shelf.config import ShelfConfig
from hub.events import DeviceEvent
from hub.unmanned import review as rv
from hub.unmanned import sessions as ss
from hub.unmanned.hands import Pick, Seen
from hub.unmanned.sessions import ShopperSession
from hub.unmanned.shelves import ShelfFusion, ShelfSpec

if TYPE_CHECKING:
    from hub.unmanned.service import UnmannedService

log = logging.getLogger("storehub.unmanned")

#: How long after a session closed a pick decided for one of its tracks is still theirs
#: (a reading that reached the hub after the exit's bill).
LATE_PICK_S = 600.0
#: A line billed from a crowd pick when a shopper who was in reach then puts the same
#: item back without being billed for it: reviewed before it is charged.
PUT_BACK_DOUBT = 0.5


def hand_ts(pick: Pick) -> float:
    """When the hand of a pick or put-back was seen (its earliest evidence)."""
    return min(e.ts for e in pick.evidence)


def evidence_of(pick: Pick) -> list[ss.Evidence]:
    """The pick's evidence, the first item carrying the pick's confidence."""
    first = pick.evidence[0].model_copy(update={"confidence": pick.confidence})
    return [first, *pick.evidence[1:]]


def line_of(pick: Pick, units: int) -> ss.CartLine:
    """A cart line of ``units`` of the pick's item, with the pick's confidence and
    evidence (billed on its own: a dispute, a pick decided after the exit's bill)."""
    return ss.CartLine(
        gtin=pick.gtin, qty=units, confidence=pick.confidence, evidence=evidence_of(pick)
    )


class Carts:
    def __init__(self, svc: UnmannedService) -> None:
        self.svc = svc
        #: Tracks of sessions closed lately → (session, when).
        self._closed: dict[str, tuple[str, float]] = {}
        #: Session → (GTIN, when) of each unit it put back that was on no bill of its yet.
        self._returned: dict[str, list[tuple[str, float]]] = {}
        #: Held while shelf changes are applied and while an exit bills a cart: a change
        #: taken off the fusion but not yet on the cart must not miss the bill.
        self.lock = asyncio.Lock()
        shelves = {
            d.id: ShelfSpec(
                slots=dict(d.config.slots), noise_g=d.config.noise_g, settle_s=d.config.settle_s
            )
            for d in svc.hub.registry
            if isinstance(d.config, ShelfConfig)
        }
        self.fusion = ShelfFusion(
            shelves,
            unit_weight=self.unit_weight,
            held=self.held,
            fuse_window_s=svc.config.fuse_window_s,
            presence_grace_s=svc.config.presence_grace_s,
        )

    def knows(self, shelf: str) -> bool:
        return self.fusion.knows(shelf)

    def unit_weight(self, gtin: str) -> float | None:
        item = self.svc.catalog_get(gtin)
        return item.weight_g if item is not None else None

    def held(self, track: str) -> dict[str, int]:
        s = self.svc.session_of(None, track)
        return s.items() if s is not None else {}

    def shelf(self, event: DeviceEvent, p: Any) -> None:
        """A shelf's event into the fusion."""
        if event.name == "weight":
            self.fusion.weight(event.device, p.slot, p.grams, p.ts)
        elif event.name == "action":
            seen = Seen(p.ts, p.action, p.gtin, p.count, p.confidence, p.track)
            self.fusion.seen(event.device, p.slot, seen)
        elif event.name == "people":
            self.fusion.people(event.device, list(p.tracks), p.ts, p.reach, p.front)
        elif event.name == "hand":
            self.fusion.hand(event.device, p.slot, p.track, p.ts)

    async def due(self, now: float) -> None:
        """Apply every shelf change whose fusion window has passed (under :attr:`lock`:
        not while an exit bills a cart)."""
        async with self.lock:
            for pick in self.fusion.due(now):
                await self.apply(pick)

    async def flush(self, s: ShopperSession) -> None:
        """Decide now the shelf changes the session's people were at (they are leaving;
        the session may close before this runs, so its own picks go to it directly)."""
        for pick in self.fusion.flush(set(s.tracks), self.svc.clock()):
            await self.apply(pick, mine=s if pick.track in s.tracks else None)

    async def apply(self, pick: Pick, *, mine: ShopperSession | None = None) -> None:
        log.debug("pick %s", pick)
        svc = self.svc
        s = mine or svc.session_of(None, pick.track)
        unsure = pick.confidence < svc.config.review_threshold
        if pick.action == "pick" and pick.also and unsure and await self._dispute(pick, s):
            return
        if pick.action == "put" and pick.also and unsure and await self._kept(pick):
            return
        # The others who may have taken it are doubted even when the one it went to is
        # unknown or gone: they must not leave unbilled for it. Of a put-back, those who
        # hold the item (one who does not cannot be billed for it wrongly).
        for other in pick.also:
            o = svc.session_of(None, other)
            if o is None or (s is not None and o.id == s.id):
                continue
            if pick.action == "put" and not o.items().get(pick.gtin):
                continue
            did = "taken" if pick.action == "pick" else "put back, maybe by them,"
            o.doubts.append(f"{pick.gtin} {did} at {pick.shelf}/{pick.slot} in a crowd")
            await svc.save(o)
        if pick.action == "pick" and s is not None:
            back = self._netted(s, pick)
            if back == pick.count:
                return
            pick = replace(pick, count=pick.count - back)
        late = pick.action == "pick" and (s is None or s.billed is not None)
        if late and await self._late(pick, s):
            return
        if s is None:
            await svc.hub.alerts.raise_(
                "unmanned_unattributed",
                "warning",
                f"{pick.action} of {pick.count} × {pick.gtin} at {pick.shelf} by nobody known",
                device=pick.shelf,
                data={"slot": pick.slot, "gtin": pick.gtin, "track": pick.track},
            )
            return
        evidence = evidence_of(pick)
        if pick.action == "pick":
            s.add(pick.gtin, pick.count, evidence[0])
            for extra in evidence[1:]:
                s.cart[pick.gtin].evidence.append(extra)
        else:
            taken = s.remove(pick.gtin, pick.count, evidence[0])
            if taken and pick.confidence < svc.config.review_threshold:
                # The line is gone from the bill, and its doubt with it: keep the doubt.
                s.doubts.append(
                    f"{pick.gtin} put back at {pick.shelf}/{pick.slot} in a crowd,"
                    " maybe by another shopper"
                )
            if taken < pick.count:
                log.info("session %s put back %s it was not billed for", s.id, pick.gtin)
                # Its pick may be decided after it (a swap waits for the camera).
                owed = self._returned.setdefault(s.id, [])
                owed += [(pick.gtin, hand_ts(pick))] * (pick.count - taken)
                # Likeliest the unit of a dispute naming them coming back; else one
                # billed to another shopper from a crowd they were in.
                if not await self._noted_on_dispute(s, pick):
                    await self._doubt_billed_instead(s, pick)
        await svc.save(s)

    def _netted(self, s: ShopperSession, pick: Pick) -> int:
        """How many units of this pick its shopper already put back: a put-back applied
        before the pick was decided (it found nothing to take off the cart) whose hand
        came after the pick's. Those units go on no cart."""
        owed = self._returned.get(s.id, [])
        took = hand_ts(pick)
        back = [i for i, (gtin, ts) in enumerate(owed) if gtin == pick.gtin and ts > took]
        n = min(len(back), pick.count)
        for i in reversed(back[:n]):
            del owed[i]
        if n:
            log.info("session %s: %s × %s picked, already put back", s.id, n, pick.gtin)
        return n

    def _session_id(self, track: str | None) -> str | None:
        """The session of an open track, or of one whose session closed lately."""
        s = self.svc.session_of(None, track)
        if s is not None:
            return s.id
        return self._closed.get(track or "", (None, 0.0))[0]

    async def _dispute(self, pick: Pick, s: ShopperSession | None) -> bool:
        """A pick that two or more sessions may have made: the units the camera saw one of
        them take (:attr:`Pick.sure`) go to that cart, the rest to staff as a dispute
        naming every candidate session, the hub's best guess first. False when the
        candidates are fewer than two sessions (one family's, say): decided as usual."""
        candidates = tuple(
            dict.fromkeys(
                sid for sid in map(self._session_id, (pick.track, *pick.also)) if sid is not None
            )
        )
        if len(candidates) < 2:
            return False
        if pick.sure:
            seen = replace(pick, count=pick.sure, confidence=pick.sure_confidence, also=(), sure=0)
            await self.apply(seen, mine=s)
        units = pick.count - pick.sure
        if units <= 0:
            return True
        await self._ask(pick, units, candidates, f"who took {{units}} × {{name}} at {pick.shelf}/"
                        f"{pick.slot}? one of {len(candidates)} shoppers in reach")  # fmt: skip
        return True

    async def _kept(self, put: Pick) -> bool:
        """An unsure put-back among shoppers of two or more sessions who hold the item:
        the units come off each holder's cart, and who kept theirs (the units put back
        fewer than taken off) is a dispute naming them, the one the put-back was
        likeliest not to be first. Their bills are charged at the exit without waiting;
        staff charge the keeper. False with fewer than two holding sessions."""
        holders: dict[str, ShopperSession] = {}
        for t in dict.fromkeys((*put.also, put.track)):  # (the likeliest putter last)
            o = self.svc.session_of(None, t)
            if o is not None and o.billed is None and o.items().get(put.gtin, 0) > 0:
                holders.setdefault(o.id, o)
        if len(holders) < 2:
            return False
        note = (
            f"one of {len(holders)} shoppers holding it put {put.count} back at"
            f" {put.shelf}/{put.slot}: the others' are disputed"
        )
        off = 0
        for o in holders.values():
            # The units left are not in doubt: only the one taken off is.
            ev = put.evidence[0].model_copy(update={"confidence": 1.0, "note": note})
            off += o.remove(put.gtin, min(put.count, o.items()[put.gtin]), ev)
            await self.svc.save(o)
        kept = off - put.count
        if kept > 0:
            question = f"who kept {{units}} × {{name}}? {note}"
            await self._ask(replace(put, action="pick"), kept, tuple(holders), question)
        return True

    async def _ask(
        self, pick: Pick, units: int, candidates: tuple[str, ...], question: str
    ) -> None:
        """A dispute: ``units`` of the pick's item on nobody's cart, for staff to charge to
        one of the candidate sessions; ``question`` (with ``{units}`` and ``{name}``) and
        why the views could not tell are its reason."""
        bill, _ = self.svc.bill(None, device=pick.shelf, extra=[line_of(pick, units)])
        name = bill.lines[0].name if bill.lines else pick.gtin
        why = "; ".join(dict.fromkeys(e.note for e in pick.evidence if e.note))
        reason = question.format(units=units, name=name) + (f" ({why})" if why else "")
        await self.svc.to_review(None, bill, reason, candidates=candidates)
        log.info("dispute: %s × %s, one of %s", units, pick.gtin, ", ".join(candidates))

    async def _noted_on_dispute(self, putter: ShopperSession, put: Pick) -> bool:
        """A put-back by a shopper not billed for it who is a candidate of a pending
        dispute over that item: likely the disputed unit coming back (rather than one
        billed to somebody else, whose bill is not doubted for it). Noted on the dispute
        for staff (it is not closed: were it another's, they would leave unbilled)."""
        journal = self.svc.hub.journal
        found = await journal.call(lambda c: rv.disputes_of(c, putter.id))
        r = next((r for r in found if any(ln.gtin == put.gtin for ln in r.bill.lines)), None)
        if r is None:
            return False
        why = (
            f"{putter.id} later put {put.count} back at {put.shelf}/{put.slot}, not billed"
            " for it: likely the one disputed, returned"
        )
        bill = r.bill.model_copy(update={"reasons": (*r.bill.reasons, why)})
        noted = r.model_copy(update={"bill": bill})
        await journal.call(lambda c: rv.save(c, noted))
        return True

    def closed(self, s: ShopperSession) -> None:
        """The session ended: its people are at no shelf any more, and a pick decided
        later that is theirs (its reading reached the hub after the bill) is billed
        through review (:meth:`_late`)."""
        self.fusion.gone(set(s.tracks))
        now = self.svc.clock()
        for t in s.tracks:
            self._closed[t] = (s.id, now)
        for t, (_, when) in list(self._closed.items()):
            if now - when > LATE_PICK_S:
                del self._closed[t]
        for sid, owed in list(self._returned.items()):
            owed[:] = [(g, ts) for g, ts in owed if now - ts <= LATE_PICK_S]
            if not owed:
                del self._returned[sid]

    async def _late(self, pick: Pick, s: ShopperSession | None) -> bool:
        """A pick by a shopper whose cart the exit already billed (``s``, or a session
        closed lately that the track was of): a bill of it alone goes to review, charged
        to the session's payment token once staff confirm. False when the track is of no
        such session."""
        svc = self.svc
        billed = s
        if billed is None:
            sid, _ = self._closed.get(pick.track or "", ("", 0.0))
            billed = await svc.hub.journal.call(lambda c: ss.load_one(c, sid)) if sid else None
        if billed is None:
            return False
        # The pick alone, for that session (its cart and doubts were billed already).
        line = line_of(pick, pick.count)
        bill, _ = svc.bill(None, device=pick.shelf, extra=[line], owner=billed)
        await svc.to_review(None, bill, "taken before leaving, decided after the bill was charged")
        log.info("session %s: %s × %s decided after its bill", billed.id, pick.count, pick.gtin)
        return True

    async def _doubt_billed_instead(self, putter: ShopperSession, put: Pick) -> None:
        """A shopper put back an item they were not billed for: it may be the one a crowd
        pick they could have made was billed to another shopper. Those lines are doubted
        (the bill goes to review); with none left open, staff are told."""
        mine = set(putter.tracks)
        doubted = []
        for o in self.svc.sessions.values():
            line = o.cart.get(put.gtin)
            if o.id == putter.id or o.state != "open" or line is None or not line.qty:
                continue
            if not any(e.source == "weight" and mine & set(e.tracks) for e in line.evidence):
                continue  # (they were not in reach when it was billed to this shopper)
            line.confidence = min(line.confidence, PUT_BACK_DOUBT)
            line.evidence.append(
                ss.Evidence(
                    source="weight",
                    device=put.shelf,
                    ts=put.evidence[0].ts,
                    confidence=PUT_BACK_DOUBT,
                    slot=put.slot,
                    tracks=(put.track,) if put.track else (),
                    note=f"{put.track} put one back that they were not billed for:"
                    " it may have been theirs",
                )
            )
            doubted.append(o.id)
            await self.svc.save(o)
        if not doubted:
            await self.svc.hub.alerts.raise_(
                "unmanned_put_back_unbilled",
                "warning",
                f"{put.count} × {put.gtin} put back at {put.shelf} by a shopper not billed"
                " for it, and nobody still inside is billed for it from a crowd they were in",
                device=put.shelf,
                data={"slot": put.slot, "gtin": put.gtin, "session": putter.id},
            )
