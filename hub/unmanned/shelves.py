"""Grab-and-go shelves: weight changes and camera detections become picks and
put-backs attributed to the shopper standing at the shelf.

Each slot's weight change is *pending* for ``fuse_window_s``, collecting the shelf
camera's detections of the same slot, then decided:

- **hands at once** — several hands whose items' weights add up to the change
  (:func:`hub.unmanned.hands.explain`) are one pick or put-back each;
- **what and how many** — the weight is the count's ground truth: ``|Δg|`` is
  matched against the unit weight of the candidates (the slot's planned item,
  items known to be misplaced on that slot, the camera's item, and for a
  put-back the items the shopper holds).  The camera decides between items
  whose weights both fit; a weight that fits nothing is unsure;
- **who** — the tracks at the shelf at the time (with ``presence_grace_s``) that
  can reach the slot (where the tracking system says which slots a track can
  reach): one track is sure; several are *crowding* — two independent views
  decide: the shelf camera's track for the hand, and the overhead tracking's
  ``hand`` reports (whose arm went into the slot since its previous change).
  Either alone, when it names one shopper, decides; both agreeing is surest;
  disagreeing is unsure.  Failing both, a put-back goes to the one who holds the
  item, otherwise the pick is unsure.

A decision carries its evidence and a confidence; the bill's confidence is its
least sure line, and an unsure bill goes to staff review.  A lone camera detection
with no weight change is ignored (the scale did not move: nothing was taken); a
pick and a put-back together with none are a swap.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from hub.unmanned.hands import (
    CLOCK_SLACK_S,
    Action,
    Pending,
    Pick,
    Seen,
    explain,
    hands_since,
    together_picks,
)
from hub.unmanned.sessions import Evidence

#: Confidence of picks known only from the camera (a swap the scale could not see)...
SWAP_CONFIDENCE = 0.6
#: ... and of a swap every piece of which fits: the same item recognised in both hands,
#: both shoppers at the slot, the one putting back holding it.
SURE_SWAP_CONFIDENCE = 0.95
#: Who, among several shoppers in reach, when one view named them: the shelf camera
#: (sure of the hand it saw), or the overhead tracking alone (it saw one arm go in)...
CAMERA_WHO = 0.97
TRACKING_WHO = 0.95
#: ... both views naming the same shopper, or naming different ones.
BOTH_WHO = 0.99
CONFLICT_WHO = 0.4


@dataclass(slots=True)
class ShelfSpec:
    slots: dict[str, str]
    noise_g: float = 3.0
    #: The scale reports this long after the hand the camera saw.
    settle_s: float = 0.3


@dataclass(slots=True)
class _Shelf:
    spec: ShelfSpec
    grams: dict[str, float] = field(default_factory=dict)
    #: When each slot's scale last reported a change.
    reported: dict[str, float] = field(default_factory=dict)
    present: dict[str, float] = field(default_factory=dict)  # track → since
    left: dict[str, float] = field(default_factory=dict)  # track → when it left
    #: The slots a track can reach (last known, kept a while after it left); a track
    #: without an entry may reach any slot.
    reach: dict[str, frozenset[str]] = field(default_factory=dict)
    #: Units of other items known to sit on a slot (put back in the wrong place).
    misplaced: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))


class ShelfFusion:
    def __init__(
        self,
        shelves: Mapping[str, ShelfSpec],
        *,
        unit_weight: Callable[[str], float | None],
        held: Callable[[str], Mapping[str, int]],
        fuse_window_s: float = 0.8,
        presence_grace_s: float = 1.0,
    ) -> None:
        self._shelves = {sid: _Shelf(spec) for sid, spec in shelves.items()}
        self.unit_weight = unit_weight
        #: Items a track's session holds now (put-back candidates and attribution).
        self.held = held
        self.window = fuse_window_s
        self.grace = presence_grace_s
        self._pending: list[Pending] = []
        self._seen: dict[tuple[str, str], list[Seen]] = defaultdict(list)
        #: The overhead tracking's hands: (shelf, slot) → [(ts, track)].
        self._arms: dict[tuple[str, str], list[tuple[float, str]]] = defaultdict(list)
        self.ignored_vision = 0

    def knows(self, shelf: str) -> bool:
        return shelf in self._shelves

    # -- input -----------------------------------------------------------------------

    def weight(self, shelf: str, slot: str, grams: float, ts: float) -> None:
        s = self._shelves[shelf]
        before = s.grams.get(slot)
        prev = s.reported.get(slot, 0.0)
        s.grams[slot] = grams
        if before is None:
            s.reported[slot] = ts
            return  # the first reading after a start is the baseline
        delta = grams - before
        if abs(delta) <= 3 * s.spec.noise_g * math.sqrt(2):
            return  # scale noise (the hands since the last change are still to come)
        s.reported[slot] = ts
        tracks = self.tracks_at(shelf, ts, slot)
        self._pending.append(Pending(shelf, slot, ts, delta, tracks, prev))

    def seen(self, shelf: str, slot: str, seen: Seen) -> None:
        self._seen[(shelf, slot)].append(seen)

    def hand(self, shelf: str, slot: str, track: str, ts: float) -> None:
        """The overhead tracking saw ``track``'s arm go into the slot."""
        self._arms[(shelf, slot)].append((ts, track))

    def people(
        self,
        shelf: str,
        tracks: list[str],
        ts: float,
        reach: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        s = self._shelves[shelf]
        for t in list(s.present):
            if t not in tracks:
                del s.present[t]
                s.left[t] = ts
        for t in tracks:
            s.present.setdefault(t, ts)
            s.left.pop(t, None)
            if reach and t in reach:
                s.reach[t] = frozenset(reach[t])
            else:
                s.reach.pop(t, None)
        for t, when in list(s.left.items()):
            if ts - when > self.grace:
                del s.left[t]
                s.reach.pop(t, None)

    def gone(self, tracks: set[str]) -> None:
        """These tracks left the store: no longer at any shelf, nor recently."""
        for s in self._shelves.values():
            for t in tracks:
                s.present.pop(t, None)
                s.left.pop(t, None)
                s.reach.pop(t, None)

    def tracks_at(self, shelf: str, ts: float, slot: str | None = None) -> tuple[str, ...]:
        """The tracks at the shelf (or gone less than ``presence_grace_s`` ago) and, for a
        slot, those of them that can reach it; all of them if none can (the tracking
        system placed them wrongly: better unsure than nobody)."""
        s = self._shelves[shelf]
        recent = [t for t, when in s.left.items() if ts - when <= self.grace]
        near = sorted({*s.present, *recent})
        if slot is None:
            return tuple(near)
        reaching = [t for t in near if slot in s.reach.get(t, (slot,))]
        return tuple(reaching or near)

    # -- decisions -------------------------------------------------------------------

    def due(self, now: float) -> list[Pick]:
        """Decide every change whose fusion window has passed (all with ``now=inf``)."""
        ready = [p for p in self._pending if now - p.ts >= self.window]
        self._pending = [p for p in self._pending if now - p.ts < self.window]
        out = [pick for p in sorted(ready, key=lambda p: p.ts) for pick in self._decide(p)]
        horizon = now - 4 * self.window
        for key, seen in list(self._seen.items()):
            if all(x.ts >= horizon for x in seen):
                continue
            # A hand past the horizon may pair with one up to a window newer (a tick
            # between the two must not split a swap).
            swapped, used = self._swaps(key, [x for x in seen if x.ts < horizon + self.window])
            out += swapped
            kept = [x for x in seen if x.ts >= horizon and x not in used]
            self.ignored_vision += len(seen) - len(kept) - len(used)
            if kept:
                self._seen[key] = kept
            else:
                del self._seen[key]
        for key, arms in list(self._arms.items()):
            recent = [a for a in arms if a[0] >= horizon]
            if recent:
                self._arms[key] = recent
            else:
                del self._arms[key]
        return out

    def _swaps(self, key: tuple[str, str], old: list[Seen]) -> tuple[list[Pick], list[Seen]]:
        """Hands the scale never explained: a pick and a put-back of the same item at one
        slot at once leave its weight unchanged. Both are applied (unsure unless every
        piece fits); a lone unexplained hand is taken for a touch and ignored. Returns
        the picks and the hands they used."""
        shelf, slot = key
        planned = self._shelves[shelf].spec.slots.get(slot)
        out: list[Pick] = []
        used: list[Seen] = []
        picks = [x for x in old if x.action == "pick" and x.track]
        puts = [x for x in old if x.action == "put" and x.track]
        for a in picks:
            b = next((y for y in puts if abs(y.ts - a.ts) <= self.window), None)
            if b is None:
                continue
            puts.remove(b)
            used += (a, b)
            conf = self._swap_confidence(shelf, slot, a, b)
            for h in (a, b):
                gtin = h.gtin or planned or ""
                ev = Evidence(
                    source="vision",
                    device=shelf,
                    ts=h.ts,
                    confidence=conf,
                    slot=slot,
                    tracks=(h.track or "",),
                    note="a pick and a put-back at once: the scale saw no change",
                )
                out.append(Pick(shelf, slot, h.action, gtin, h.count, h.track, conf, (ev,)))
        return out, used

    def _swap_confidence(self, shelf: str, slot: str, pick: Seen, put: Seen) -> float:
        same = pick.gtin is not None and pick.gtin == put.gtin and pick.count == put.count
        sure = min(pick.confidence, put.confidence) >= 0.8
        here = all(h.track in self.tracks_at(shelf, h.ts, slot) for h in (pick, put))
        holder = put.track == pick.track or (
            put.track is not None and self.held(put.track).get(put.gtin or "", 0) >= put.count
        )
        return SURE_SWAP_CONFIDENCE if same and sure and here and holder else SWAP_CONFIDENCE

    def flush(self, tracks: set[str], now: float | None = None) -> list[Pick]:
        """Decide now the changes these tracks were at (their shopper is leaving), and the
        swaps their hands were in that the scale could not see (hands older than the
        fusion window at ``now`` that no change claimed)."""
        mine = [p for p in self._pending if tracks & set(p.tracks)]
        self._pending = [p for p in self._pending if not tracks & set(p.tracks)]
        out = [pick for p in sorted(mine, key=lambda p: p.ts) for pick in self._decide(p)]
        if now is None:
            return out
        for key, seen in list(self._seen.items()):
            if not any(x.track in tracks for x in seen):
                continue
            swapped, used = self._swaps(key, [x for x in seen if x.ts < now - self.window])
            self._seen[key] = [x for x in seen if x not in used]
            out += swapped
        return out

    def _near(self, p: Pending, action: Action) -> list[Seen]:
        """The camera's detections of this slot and action within the window, nearest first."""
        lag = self._shelves[p.shelf].spec.settle_s

        def off(x: Seen) -> float:
            return abs(x.ts + lag - p.ts)

        seen = self._seen.get((p.shelf, p.slot), [])
        near = [
            x
            for x in seen
            if x.action == action
            and off(x) <= self.window
            and x.ts <= p.ts + CLOCK_SLACK_S  # (later: the next change's)
        ]
        return sorted(near, key=off)

    def _hands_since(self, p: Pending, action: Action) -> list[Seen]:
        """The hands seen since the slot's previous change, earliest first, as many as
        the scale's units (the scale reports once for hands that overlap): empty when
        they do not add up."""
        s = self._shelves[p.shelf]
        seen = self._seen.get((p.shelf, p.slot), [])
        w = self.unit_weight(s.spec.slots.get(p.slot, "")) or 0.0
        units = round(abs(p.delta) / w) if w else 0
        taken: list[Seen] = []
        for x in (h for h in hands_since(p, seen) if h.action == action):
            if sum(h.count for h in taken) >= units:
                break
            taken.append(x)
        if not taken or sum(h.count for h in taken) != units:
            return []
        return taken

    def _arms_in(self, p: Pending) -> set[str]:
        """The tracks the overhead tracking saw put a hand into the slot for this change
        (one that could cause it, at most a fusion window before the scale settled), of
        those that could reach it."""
        return {t for ts, t in self._arms_for(p)} & set(p.tracks)

    def _arms_for(self, p: Pending) -> list[tuple[float, str]]:
        lo = p.ts - self.window - self._shelves[p.shelf].spec.settle_s
        arms = self._arms.get((p.shelf, p.slot), [])
        return [(ts, t) for ts, t in arms if ts >= lo and p.could_cause(ts)]

    def _consume_arms(self, p: Pending, tracks: set[str | None]) -> None:
        """The arms of these tracks were this change's: not the next one's."""
        used = [a for a in self._arms_for(p) if a[1] in tracks]
        arms = self._arms.get((p.shelf, p.slot), [])
        for a in used:
            arms.remove(a)

    def _consume(self, p: Pending, used: Sequence[Seen]) -> None:
        seen = self._seen.get((p.shelf, p.slot), [])
        for x in used:
            if x in seen:
                seen.remove(x)

    def _decide(self, p: Pending) -> list[Pick]:
        """One pick per hand when the camera saw several hands whose items' weights add
        up to what the scale lost or gained at once (shoppers reaching together, one
        taking while another puts back); else one pick, from the weight."""
        s = self._shelves[p.shelf]
        planned = s.spec.slots.get(p.slot, "")
        seen = self._seen.get((p.shelf, p.slot), [])
        together = explain(p, seen, planned, s.spec.noise_g, self.unit_weight)
        if together:
            self._consume(p, together)
            self._consume_arms(p, {h.track for h in together})
            picks = together_picks(p, together, planned, self.held)
            for pick in picks:
                self._book_misplaced(p, pick)
            return picks
        action: Action = "pick" if p.delta < 0 else "put"
        hands = self._hands_since(p, action) or self._near(p, action)
        # Other hands the camera saw at the slot since its previous change are in this
        # reading too: if the decision leaves them out, something went unseen (a hand
        # hidden while another put an item back leaves the weight unchanged).
        stray = [x for x in hands_since(p, seen) if x not in hands[:1]]
        one = self._decide_one(p, action, hands[0] if hands else None, stray)
        self._consume(p, hands[:1])
        self._consume_arms(p, {one.track})
        self._book_misplaced(p, one)
        return [one]

    def _decide_one(
        self, p: Pending, action: Action, cam: Seen | None, stray: Sequence[Seen] = ()
    ) -> Pick:
        s = self._shelves[p.shelf]
        grams = abs(p.delta)
        notes: list[str] = []
        # Who: the camera's hand and the overhead tracking's arms, a single track, or
        # the one holding the item.
        arms = self._arms_in(p)
        track, who = self._who(p, cam, arms, action, notes)
        if stray and len(p.tracks) > 1:
            notes.append(f"{len(stray)} more hand(s) seen here that the weight does not show")
            who = min(who, CONFLICT_WHO)
        # What and how many: the weight, with the camera's item as a tie-break.
        candidates = self._candidates(s, p.slot, action, cam, track)
        fits = self._fits(candidates, grams, s.spec.noise_g)
        what = 1.0
        if fits:
            by_gtin = dict(fits)
            if cam is not None and cam.gtin in by_gtin and cam.confidence >= 0.5:
                gtin = cam.gtin
            elif len(fits) > 1 and fits[0][0] != fits[1][0]:
                planned = s.spec.slots.get(p.slot)
                gtin = planned if planned in by_gtin else fits[0][0]
                if cam is None or cam.gtin is None:
                    what = 0.6
                    notes.append("the weight fits several items")
            else:
                gtin = fits[0][0]
            count = by_gtin[gtin]
        else:
            gtin = (cam.gtin if cam and cam.gtin else None) or s.spec.slots.get(p.slot, "")
            count = cam.count if cam else 1
            what = 0.3
            notes.append(f"{grams:.0f} g fits no item expected here")
        if cam is not None and cam.count != count:
            what *= 0.8
            notes.append(f"the camera counted {cam.count}, the scale {count}")
        evidence = [
            Evidence(
                source="weight",
                device=p.shelf,
                ts=p.ts,
                confidence=what,
                slot=p.slot,
                tracks=p.tracks,
                note="; ".join(notes) or None,
            )
        ]
        if cam is not None:
            evidence.append(
                Evidence(
                    source="vision",
                    device=p.shelf,
                    ts=cam.ts,
                    confidence=cam.confidence,
                    slot=p.slot,
                    tracks=(cam.track,) if cam.track else (),
                )
            )
        if arms:
            evidence.append(
                Evidence(
                    source="tracking",
                    device=p.shelf,
                    ts=p.ts,
                    confidence=TRACKING_WHO if len(arms) == 1 else 0.5,
                    slot=p.slot,
                    tracks=tuple(sorted(arms)),
                )
            )
        also: tuple[str, ...] = ()
        # Explained: whose hand is known (the camera's, or the one arm the ceiling saw)
        # and no more units went than the camera saw taken.
        counted = cam is None or cam.count >= count
        named = (cam is not None and cam.track is not None) or arms == {track}
        unexplained = not (counted and named) or bool(stray)
        if len(p.tracks) > 1 and (unexplained or who < 0.9):
            also = tuple(t for t in p.tracks if t != track)
        return Pick(
            p.shelf,
            p.slot,
            action,
            gtin,
            count,
            track,
            round(who * what, 3),
            tuple(evidence),
            also,
        )

    def _who(
        self, p: Pending, cam: Seen | None, arms: set[str], action: Action, notes: list[str]
    ) -> tuple[str | None, float]:
        tracks = p.tracks
        if cam is not None and cam.track is not None:
            if len(tracks) <= 1 and (not tracks or cam.track == tracks[0]):
                return cam.track, 1.0
            if cam.track in tracks:
                if arms and cam.track not in arms:
                    notes.append(
                        f"the shelf camera saw {cam.track}'s hand, the overhead tracking"
                        f" {', '.join(sorted(arms))}'s"
                    )
                    return cam.track, CONFLICT_WHO
                sure = CAMERA_WHO if cam.confidence >= 0.8 else 0.7
                if arms == {cam.track}:
                    sure = BOTH_WHO if sure == CAMERA_WHO else TRACKING_WHO
                if sure < 0.9:
                    notes.append(f"{len(tracks)} shoppers at the shelf")
                return cam.track, sure
        if len(tracks) == 1:
            return tracks[0], 1.0
        if not tracks:
            notes.append("nobody was seen at the shelf")
            return None, 0.0
        if len(arms) == 1:
            return next(iter(arms)), TRACKING_WHO
        if action == "put" and cam is not None and cam.gtin is not None:
            holders = [t for t in tracks if self.held(t).get(cam.gtin, 0) > 0]
            if len(holders) == 1:
                return holders[0], 0.95
        if action == "put":
            planned = self._shelves[p.shelf].spec.slots.get(p.slot)
            holders = [t for t in tracks if planned and self.held(t).get(planned, 0) > 0]
            if len(holders) == 1:
                return holders[0], 0.95
        notes.append(f"{len(tracks)} shoppers at the shelf")
        return tracks[0], 0.4

    def _candidates(
        self, s: _Shelf, slot: str, action: Action, cam: Seen | None, track: str | None
    ) -> list[str]:
        out: list[str] = []
        planned = s.spec.slots.get(slot)
        if planned:
            out.append(planned)
        if action == "pick":
            out += [g for g, n in s.misplaced.get(slot, {}).items() if n > 0]
        elif track is not None:
            out += [g for g, n in self.held(track).items() if n > 0]
        if cam is not None and cam.gtin:
            out.append(cam.gtin)
        return list(dict.fromkeys(out))

    def _fits(self, gtins: list[str], grams: float, noise: float) -> list[tuple[str, int]]:
        """(gtin, units) of each candidate whose unit weight explains ``grams``, best first."""
        scored: list[tuple[float, str, int]] = []
        for g in gtins:
            w = self.unit_weight(g)
            if not w:
                continue
            n = round(grams / w)
            if n < 1:
                continue
            err = abs(grams - n * w)
            if err <= 4 * noise * math.sqrt(2) + 0.02 * grams:
                scored.append((err / w, g, n))
        scored.sort()
        return [(g, n) for _, g, n in scored]

    def _book_misplaced(self, p: Pending, pick: Pick) -> None:
        s, slot, action, gtin, count = (
            self._shelves[p.shelf],
            p.slot,
            pick.action,
            pick.gtin,
            pick.count,
        )
        if gtin == s.spec.slots.get(slot):
            return
        here = s.misplaced[slot]
        if action == "put":
            here[gtin] = here.get(gtin, 0) + count
        elif gtin in here:
            here[gtin] = max(here[gtin] - count, 0)
