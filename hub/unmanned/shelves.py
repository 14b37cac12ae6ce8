"""Grab-and-go shelves: weight changes and camera detections become picks and
put-backs attributed to the shopper standing at the shelf.

Each slot's weight change is *pending* for ``fuse_window_s``, collecting the shelf
camera's detections of the same slot, then decided:

- **hands at once** — several hands whose items' weights add up to the change
  (:func:`hub.unmanned.hands.explain`) are one pick or put-back each;
- **one hand** — otherwise the weight says what and how many, and among the
  candidates the shelf camera and the overhead tracking say who
  (:mod:`hub.unmanned.one_hand`).

The candidates for who are the tracks at the shelf at the time (with
``presence_grace_s``) that can reach the slot (where the tracking system says which
slots a track can reach); where it says which slot each stands in front of, that
weighs the views of whose hand it was (:func:`hub.unmanned.hands.stance_odds`).

A decision carries its evidence and a confidence; the bill's confidence is its
least sure line, and an unsure bill goes to staff review.  A lone camera detection
with no weight change is ignored (the scale did not move: nothing was taken); a
pick and a put-back together with none are a swap (hub/unmanned/swaps.py).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from hub.unmanned.hands import (
    CLOCK_SLACK_S,
    SAME_HAND_S,
    Action,
    Pending,
    Pick,
    Seen,
    arm_hands,
    explain,
    hands_since,
    together_picks,
    unsure_items,
)
from hub.unmanned.one_hand import SlotView, decide_one
from hub.unmanned.swaps import swaps, whose


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
    #: The slot a track stands in front of (last known, kept like :attr:`reach`).
    front: dict[str, str] = field(default_factory=dict)
    #: Units of other items known to sit on a slot (put back in the wrong place).
    misplaced: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))

    def placed_nowhere(self, track: str) -> None:
        """Forget where the tracking system placed ``track`` (its reach, its stance)."""
        self.reach.pop(track, None)
        self.front.pop(track, None)


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
        front = self._front(s, slot, tracks)
        self._pending.append(Pending(shelf, slot, ts, delta, tracks, prev, front))

    @staticmethod
    def _front(s: _Shelf, slot: str, tracks: Sequence[str]) -> frozenset[str] | None:
        """Those of ``tracks`` standing in front of ``slot``; None unless the tracking
        system said where each of them stands."""
        if not tracks or any(t not in s.front for t in tracks):
            return None
        return frozenset(t for t in tracks if s.front[t] == slot)

    def seen(self, shelf: str, slot: str, seen: Seen) -> None:
        here = seen.track is not None and seen.track in self.tracks_at(shelf, seen.ts, slot)
        self._seen[(shelf, slot)].append(replace(seen, in_reach=here))

    def hand(self, shelf: str, slot: str, track: str, ts: float) -> None:
        """The overhead tracking saw ``track``'s arm go into the slot."""
        self._arms[(shelf, slot)].append((ts, track))

    def people(
        self,
        shelf: str,
        tracks: list[str],
        ts: float,
        reach: Mapping[str, Sequence[str]] | None = None,
        front: Mapping[str, str] | None = None,
    ) -> None:
        """The tracks now at the shelf, with (where the tracking system knows it) the
        slots each can reach and the slot each stands in front of."""
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
            if front and t in front:
                s.front[t] = front[t]
            else:
                s.front.pop(t, None)
        for t, when in list(s.left.items()):
            if ts - when > self.grace:
                del s.left[t]
                s.placed_nowhere(t)

    def gone(self, tracks: set[str]) -> None:
        """These tracks left the store: no longer at any shelf, nor recently."""
        for s in self._shelves.values():
            for t in tracks:
                s.present.pop(t, None)
                s.left.pop(t, None)
                s.placed_nowhere(t)

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
            # (kept a window longer than hands: a lone hand's swap may need one)
            recent = [a for a in arms if a[0] >= horizon - self.window]
            if recent:
                self._arms[key] = recent
            else:
                del self._arms[key]
        return out

    def _swaps(self, key: tuple[str, str], old: list[Seen]) -> tuple[list[Pick], list[Seen]]:
        shelf, slot = key
        planned = self._shelves[shelf].spec.slots.get(slot)
        arms = self._arms.get(key, [])
        return swaps(shelf, slot, old, arms, planned=planned, window=self.window, held=self.held)

    def _whose(self, key: tuple[str, str], h: Seen) -> Seen:
        return whose(h, self._arms.get(key, []))

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
            if not any(self._whose(key, x).track in tracks for x in seen):
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
        those that could reach it. Arms early enough for the scale to have settled with
        them are preferred: a later one is most likely the next change's."""
        arms = self._arms_for(p)
        settled = self._settled_by(p)
        return {t for ts, t in arms if ts <= settled} or {t for _, t in arms}

    def _arms_for(self, p: Pending) -> list[tuple[float, str]]:
        """The arms of shoppers who could reach the slot that could be this change's."""
        lo = p.ts - self.window - self._shelves[p.shelf].spec.settle_s
        arms = self._arms.get((p.shelf, p.slot), [])
        return [(ts, t) for ts, t in arms if ts >= lo and p.could_cause(ts) and t in p.tracks]

    def _settled_by(self, p: Pending) -> float:
        """The latest a hand can be and still be in the change's reading: the scale needs
        time to settle with it (half its settle time); a later hand is the next change's."""
        return p.ts - self._shelves[p.shelf].spec.settle_s / 2

    def _consume_arms(self, p: Pending, tracks: set[str | None]) -> None:
        """The arms of these tracks were this change's: not the next one's."""
        used = [a for a in self._arms_for(p) if a[1] in tracks]
        arms = self._arms.get((p.shelf, p.slot), [])
        for a in used:
            arms.remove(a)

    def _consume(self, p: Pending, used: Sequence[Seen]) -> None:
        seen = self._seen.get((p.shelf, p.slot), [])
        for x in used:
            if x.arm_only:
                # The camera's view of this arm's hand, if it saw one without whose it
                # was: the same hand, decided now (not a swap's half later).
                x = next(
                    (y for y in seen if y.track is None and abs(y.ts - x.ts) <= SAME_HAND_S), x
                )
            if x in seen:
                seen.remove(x)

    def _decide(self, p: Pending) -> list[Pick]:
        """One pick per hand when the camera saw several hands whose items' weights add
        up to what the scale lost or gained at once (shoppers reaching together, one
        taking while another puts back); else one pick, from the weight."""
        s = self._shelves[p.shelf]
        planned = s.spec.slots.get(p.slot, "")
        seen = self._seen.get((p.shelf, p.slot), [])
        arms = arm_hands(p, seen, self._arms_for(p))
        together = explain(p, seen, planned, s.spec.noise_g, self.unit_weight, arms)
        if together:
            self._consume(p, together)
            self._consume_arms(p, {h.track for h in together})
            others = [g for g, n in s.misplaced.get(p.slot, {}).items() if n > 0]
            unsure = unsure_items(p, together, planned, others, s.spec.noise_g, self.unit_weight)
            armed = {t for _, t in self._arms_for(p)}
            picks = together_picks(p, together, planned, self.held, unsure=unsure, armed=armed)
            for pick in picks:
                self._book_misplaced(p, pick)
            return picks
        action: Action = "pick" if p.delta < 0 else "put"
        hands = self._hands_since(p, action) or self._near(p, action)
        # Other hands the camera saw at the slot since its previous change, early enough
        # for the scale to have settled with them, are in this reading too: if the
        # decision leaves them out, something went unseen (a hand hidden while another
        # put an item back leaves the weight unchanged).
        settled = self._settled_by(p)
        stray = [x for x in hands_since(p, seen) if x not in hands[:1] and x.ts <= settled]
        view = SlotView(
            s.spec.slots.get(p.slot),
            s.misplaced.get(p.slot, {}),
            s.spec.noise_g,
            self.held,
            self.unit_weight,
        )
        arms_in = self._arms_in(p)
        one = decide_one(p, action, hands[0] if hands else None, arms_in, stray, view)
        self._consume(p, hands[:1])
        self._consume_arms(p, {one.track})
        self._book_misplaced(p, one)
        return [one]

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
