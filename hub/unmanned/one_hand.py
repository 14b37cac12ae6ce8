"""One scale change explained by one hand: what and how many from the weight, who from
the shelf camera and the overhead tracking.

- **what and how many** — the weight is the count's ground truth: ``|Δg|`` is matched
  against the unit weight of the candidates (the slot's planned item, items known to
  be misplaced on that slot, the camera's item, and for a put-back the items the
  shopper holds).  The camera decides between items whose weights both fit; a weight
  that fits nothing is unsure;
- **who** — one shopper in reach is sure; among several, the shelf camera's hand and
  the overhead tracking's arms decide (either alone, both agreeing surest, disagreeing
  unsure), weighed with where the shoppers stand where the tracking system says so
  (a view naming a shopper at another slot while someone stands in front of this one
  is unsure; of two views that disagree, the one naming whoever stands in front is
  likelier); a put-back the views leave in doubt goes to the one of those they are in
  doubt between who holds the item; failing both views, a put-back goes to the one who
  holds the item, otherwise the pick is unsure and the others in reach are named in
  :attr:`Pick.also` (where the two views named different shoppers, only those two and
  whoever stood in front); units the camera saw one hand take are that hand's for sure
  (:attr:`Pick.sure`), only the rest is in doubt.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from hub.unmanned.hands import (
    BOTH_WHO,
    CAMERA_WHO,
    CONFLICT_WHO,
    TRACKING_WHO,
    Action,
    Pending,
    Pick,
    Seen,
    by_stance,
    stood_beside,
)
from hub.unmanned.sessions import Evidence

#: A put-back by the one shopper who could have made it: the only one (of those in
#: reach, or of those the views are in doubt between) who holds the item.
HOLDER_WHO = 0.95


@dataclass(frozen=True, slots=True)
class SlotView:
    """What the decision knows of the slot and of the shoppers."""

    planned: str | None
    #: Units of other items known to lie on the slot.
    misplaced: Mapping[str, int]
    noise_g: float
    held: Callable[[str], Mapping[str, int]]
    unit_weight: Callable[[str], float | None]


def decide_one(
    p: Pending,
    action: Action,
    cam: Seen | None,
    arms: set[str],
    stray: Sequence[Seen],
    slot: SlotView,
) -> Pick:
    """The pick or put-back for change ``p`` with the camera's hand ``cam`` (if any), the
    tracks whose arms the ceiling saw go in, and the ``stray`` hands the camera saw in
    this reading that the decision leaves out (they make it unsure)."""
    grams = abs(p.delta)
    notes: list[str] = []
    track, who = _who(p, cam, arms, action, notes, slot)
    if stray and len(p.tracks) > 1:
        notes.append(f"{len(stray)} more hand(s) seen here that the weight does not show")
        who = min(who, CONFLICT_WHO)
    # What and how many: the weight, with the camera's item as a tie-break.
    found = fits(_candidates(slot, action, cam, track), grams, slot.noise_g, slot.unit_weight)
    what = 1.0
    if found:
        by_gtin = dict(found)
        if cam is not None and cam.gtin in by_gtin and cam.confidence >= 0.5:
            gtin = cam.gtin
        elif len(found) > 1 and found[0][0] != found[1][0]:
            gtin = slot.planned if slot.planned in by_gtin else found[0][0]
            if cam is None or cam.gtin is None:
                what = 0.6
                notes.append("the weight fits several items")
        else:
            gtin = found[0][0]
        count = by_gtin[gtin]
    else:
        gtin = (cam.gtin if cam and cam.gtin else None) or slot.planned or ""
        count = cam.count if cam else 1
        what = 0.3
        notes.append(f"{grams:.0f} g fits no item expected here")
    sure_what = what
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
    sure = 0
    # Explained: whose hand is known (the camera's, or the one arm the ceiling saw)
    # and no more units went than the camera saw taken.
    counted = cam is None or cam.count >= count
    named = (cam is not None and cam.track is not None) or arms == {track}
    unexplained = not (counted and named) or bool(stray)
    if len(p.tracks) > 1 and unexplained:
        also = tuple(t for t in p.tracks if t != track)
        if cam is not None and cam.track == track and who >= 0.9 and not stray:
            sure = min(cam.count, count)  # that hand's; the rest may be anybody's
    elif len(p.tracks) > 1 and who < 0.9:
        # One hand both views saw, naming different shoppers: it is one of theirs (or of
        # whoever stood in front of the slot).
        whose = {*arms, *(p.front or ()), cam.track if cam is not None else None}
        also = tuple(t for t in p.tracks if t != track and (not arms or t in whose))
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
        sure,
        round(who * sure_what, 3) if sure else 0.0,
    )


def _who(
    p: Pending,
    cam: Seen | None,
    arms: set[str],
    action: Action,
    notes: list[str],
    slot: SlotView,
) -> tuple[str | None, float]:
    """Who, from the views; then weighed with where the shoppers stand, where the
    tracking system says it (:func:`by_stance`): a view naming a shopper who stands at
    another slot while someone stands in front of this one is unsure, and of two views
    naming different shoppers the one naming whoever stands in front is likelier."""
    track, who = _who_seen(p, cam, arms, action, notes, slot)
    views: list[tuple[str, float]] = []
    if cam is not None and cam.track in p.tracks:
        views.append((cam.track, CAMERA_WHO if cam.confidence >= 0.8 else 0.7))
    if len(arms) == 1 and arms <= set(p.tracks):
        views.append((next(iter(arms)), TRACKING_WHO))
    weighed = by_stance(p, views)
    if weighed is not None:
        notes.append(stood_beside(p, [t for t, _ in views]))
        track, who = weighed[0], round(weighed[1], 3)
    if action == "put" and views and who < 0.9:
        # Of the shoppers the doubt is between, only one who holds the item can have
        # put it back.
        doubted = {track, *(t for t, _ in views), *(p.front or ())}
        gtin = cam.gtin if cam is not None and cam.gtin else slot.planned
        holders = _holders([t for t in p.tracks if t in doubted], gtin, slot)
        if len(holders) == 1:
            notes.append(f"only {holders[0]} of them holds one")
            return holders[0], HOLDER_WHO
    return track, who


def _who_seen(
    p: Pending,
    cam: Seen | None,
    arms: set[str],
    action: Action,
    notes: list[str],
    slot: SlotView,
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
    if action == "put":
        # The one who holds the item put it back (the camera's item, else the slot's);
        # among several who hold it, unsure, but one of them.
        for gtin in (cam.gtin if cam is not None else None, slot.planned):
            holders = _holders(tracks, gtin, slot)
            if len(holders) == 1:
                return holders[0], HOLDER_WHO
            if holders:
                notes.append(f"{len(holders)} shoppers at the shelf hold one")
                return holders[0], 0.4
    notes.append(f"{len(tracks)} shoppers at the shelf")
    return tracks[0], 0.4


def _holders(tracks: Sequence[str], gtin: str | None, slot: SlotView) -> list[str]:
    """Those of ``tracks`` who hold ``gtin`` (who can have put one back)."""
    return [t for t in tracks if gtin and slot.held(t).get(gtin, 0) > 0]


def _candidates(slot: SlotView, action: Action, cam: Seen | None, track: str | None) -> list[str]:
    out: list[str] = []
    if slot.planned:
        out.append(slot.planned)
    if action == "pick":
        out += [g for g, n in slot.misplaced.items() if n > 0]
    elif track is not None:
        out += [g for g, n in slot.held(track).items() if n > 0]
    if cam is not None and cam.gtin:
        out.append(cam.gtin)
    return list(dict.fromkeys(out))


def fits(
    gtins: list[str], grams: float, noise: float, unit_weight: Callable[[str], float | None]
) -> list[tuple[str, int]]:
    """(gtin, units) of each candidate whose unit weight explains ``grams``, best first."""
    scored: list[tuple[float, str, int]] = []
    for g in gtins:
        w = unit_weight(g)
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
