"""Grab-and-go shelves: weight changes and camera detections become picks and
put-backs attributed to the shopper standing at the shelf.

Each slot's weight change is *pending* for ``fuse_window_s``, collecting the shelf
camera's detections of the same slot, then decided:

- **what and how many** — the weight is the count's ground truth: ``|Δg|`` is
  matched against the unit weight of the candidates (the slot's planned item,
  items known to be misplaced on that slot, the camera's item, and for a
  put-back the items the shopper holds).  The camera decides between items
  whose weights both fit; a weight that fits nothing is unsure;
- **who** — the tracks at the shelf at the time (with ``presence_grace_s``):
  one track is sure; several are *crowding* — the camera's track decides if it
  saw the hand, a put-back goes to the one who holds the item, otherwise the
  pick is unsure.

A decision carries its evidence and a confidence; the bill's confidence is its
least sure line, and an unsure bill goes to staff review.  A camera detection
with no weight change is ignored (the scale did not move: nothing was taken).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from hub.unmanned.sessions import Evidence

Action = Literal["pick", "put"]


@dataclass(frozen=True, slots=True)
class Seen:
    """A shelf camera detection."""

    ts: float
    action: Action
    gtin: str | None
    count: int
    confidence: float
    track: str | None


@dataclass(slots=True)
class _Pending:
    shelf: str
    slot: str
    ts: float
    delta: float
    tracks: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Pick:
    shelf: str
    slot: str
    action: Action
    gtin: str
    count: int
    track: str | None
    confidence: float
    evidence: tuple[Evidence, ...]


@dataclass(slots=True)
class ShelfSpec:
    slots: dict[str, str]
    noise_g: float = 3.0


@dataclass(slots=True)
class _Shelf:
    spec: ShelfSpec
    grams: dict[str, float] = field(default_factory=dict)
    present: dict[str, float] = field(default_factory=dict)  # track → since
    left: dict[str, float] = field(default_factory=dict)  # track → when it left
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
        self._pending: list[_Pending] = []
        self._seen: dict[tuple[str, str], list[Seen]] = defaultdict(list)
        self.ignored_vision = 0

    def knows(self, shelf: str) -> bool:
        return shelf in self._shelves

    # -- input -----------------------------------------------------------------------

    def weight(self, shelf: str, slot: str, grams: float, ts: float) -> None:
        s = self._shelves[shelf]
        before = s.grams.get(slot)
        s.grams[slot] = grams
        if before is None:
            return  # the first reading after a start is the baseline
        delta = grams - before
        if abs(delta) <= 3 * s.spec.noise_g * math.sqrt(2):
            return  # scale noise
        self._pending.append(_Pending(shelf, slot, ts, delta, self.tracks_at(shelf, ts)))

    def seen(self, shelf: str, slot: str, seen: Seen) -> None:
        self._seen[(shelf, slot)].append(seen)

    def people(self, shelf: str, tracks: list[str], ts: float) -> None:
        s = self._shelves[shelf]
        for t in list(s.present):
            if t not in tracks:
                del s.present[t]
                s.left[t] = ts
        for t in tracks:
            s.present.setdefault(t, ts)
            s.left.pop(t, None)

    def tracks_at(self, shelf: str, ts: float) -> tuple[str, ...]:
        s = self._shelves[shelf]
        recent = [t for t, when in s.left.items() if ts - when <= self.grace]
        return tuple(sorted({*s.present, *recent}))

    # -- decisions -------------------------------------------------------------------

    def due(self, now: float) -> list[Pick]:
        """Decide every change whose fusion window has passed (all with ``now=inf``)."""
        ready = [p for p in self._pending if now - p.ts >= self.window]
        if not ready:
            return []
        self._pending = [p for p in self._pending if now - p.ts < self.window]
        out = [self._decide(p) for p in sorted(ready, key=lambda p: p.ts)]
        horizon = now - 4 * self.window
        for key, seen in list(self._seen.items()):
            kept = [x for x in seen if x.ts >= horizon]
            self.ignored_vision += len(seen) - len(kept)
            if kept:
                self._seen[key] = kept
            else:
                del self._seen[key]
        return out

    def flush(self, tracks: set[str]) -> list[Pick]:
        """Decide now the changes these tracks were at (their shopper is leaving)."""
        mine = [p for p in self._pending if tracks & set(p.tracks)]
        if not mine:
            return []
        self._pending = [p for p in self._pending if not tracks & set(p.tracks)]
        return [self._decide(p) for p in sorted(mine, key=lambda p: p.ts)]

    def _take_seen(self, p: _Pending, action: Action) -> Seen | None:
        seen = self._seen.get((p.shelf, p.slot), [])
        near = [x for x in seen if x.action == action and abs(x.ts - p.ts) <= self.window]
        if not near:
            return None
        best = min(near, key=lambda x: abs(x.ts - p.ts))
        seen.remove(best)
        return best

    def _decide(self, p: _Pending) -> Pick:
        s = self._shelves[p.shelf]
        action: Action = "pick" if p.delta < 0 else "put"
        grams = abs(p.delta)
        cam = self._take_seen(p, action)
        notes: list[str] = []
        # Who: the camera's hand, a single track, or the one holding the item.
        track, who = self._who(p, cam, action, notes)
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
        self._book_misplaced(s, p.slot, action, gtin, count)
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
        return Pick(
            p.shelf, p.slot, action, gtin, count, track, round(who * what, 3), tuple(evidence)
        )

    def _who(
        self, p: _Pending, cam: Seen | None, action: Action, notes: list[str]
    ) -> tuple[str | None, float]:
        tracks = p.tracks
        if cam is not None and cam.track is not None:
            if len(tracks) <= 1 and (not tracks or cam.track == tracks[0]):
                return cam.track, 1.0
            if cam.track in tracks:
                sure = 0.97 if cam.confidence >= 0.8 else 0.7
                if sure < 0.9:
                    notes.append(f"{len(tracks)} shoppers at the shelf")
                return cam.track, sure
        if len(tracks) == 1:
            return tracks[0], 1.0
        if not tracks:
            notes.append("nobody was seen at the shelf")
            return None, 0.0
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

    @staticmethod
    def _book_misplaced(s: _Shelf, slot: str, action: Action, gtin: str, count: int) -> None:
        if gtin == s.spec.slots.get(slot):
            return
        here = s.misplaced[slot]
        if action == "put":
            here[gtin] = here.get(gtin, 0) + count
        elif gtin in here:
            here[gtin] = max(here[gtin] - count, 0)
