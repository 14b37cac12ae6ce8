"""Hands and scale changes at a shelf slot, and which hands explain a change.

The camera reports hands (:class:`Seen`): a pick or a put-back at a slot, maybe with the
item and the shopper.  The overhead tracking reports arms going into a slot (whose, not
what): an arm the camera did not see a hand for is a hand too (:func:`arm_hands`).  The
scale reports once per settled change (:class:`Pending`), so hands that overlap in
time show up as *one* change: several shoppers reaching together, or one taking while
another puts back.  :func:`explain` finds the hands whose items' signed weights add up
to the change.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import combinations
from typing import Literal

from hub.unmanned.sessions import Evidence

Action = Literal["pick", "put"]

#: Most hands one scale change is matched against in every combination (2^n).
MAX_HANDS = 8
#: How far a hand may be stamped before the slot's previous change and still be this
#: change's (a hand reaching in as the scale reported).
HAND_SLACK_S = 0.1
#: How far after the change a hand may be stamped and still be its cause: the shelf's
#: scale, camera and tracking share one clock; only rounding between them is allowed.
CLOCK_SLACK_S = 0.02
#: The overhead tracking's arm and the shelf camera's hand of one shopper at one slot
#: this close in time are one hand seen twice.
SAME_HAND_S = 0.25

#: Who, among several shoppers in reach, when one view named them: the shelf camera
#: (sure of the hand it saw), or the overhead tracking alone (it saw one arm go in)...
CAMERA_WHO = 0.97
TRACKING_WHO = 0.95
#: ... both views naming the same shopper, or naming different ones.
BOTH_WHO = 0.99
CONFLICT_WHO = 0.4
#: An arm without a camera hand, of a shopper whose other hand in the same reading the
#: camera did see: as likely another's arm the ceiling gave them.
DOUBTFUL_ARM = 0.7
#: Where the tracking system says which slot each shopper stands in front of: the share
#: of hands that go into a slot another shopper stands in front of (reaching beside or
#: past them) rather than into the shopper's own (:func:`stance_odds`).
SIDE_REACH = 0.1
#: ... and, among hands at once, that a shopper with another hand in the same reading
#: made this one too (both hands in one slot at once; cf. :data:`DOUBTFUL_ARM`).
TWO_HANDS = 0.3


@dataclass(frozen=True, slots=True)
class Seen:
    """A shelf camera detection."""

    ts: float
    action: Action
    gtin: str | None
    count: int
    confidence: float
    track: str | None
    #: Not seen by the camera: the overhead tracking's arm (no item, no direction).
    arm_only: bool = False
    #: Whether its shopper stood within reach of the slot when the hand was seen (set
    #: by the fusion on arrival: by the time a swap is decided they may have walked on).
    in_reach: bool = True


@dataclass(slots=True)
class Pending:
    """A slot's scale change waiting for the camera's hands (``fuse_window_s``)."""

    shelf: str
    slot: str
    ts: float
    delta: float
    tracks: tuple[str, ...]
    #: When the slot's scale reported before this: hands after it are this change's.
    prev: float = 0.0
    #: Those of :attr:`tracks` standing in front of the slot; None where the tracking
    #: system did not say where each of them stands.
    front: frozenset[str] | None = None

    def could_cause(self, ts: float) -> bool:
        """Whether a hand at ``ts`` can be this change's: after the slot's previous change
        and before the scale reported this one (a hand seen after it is the next
        change's)."""
        return self.prev - HAND_SLACK_S < ts <= self.ts + CLOCK_SLACK_S


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
    #: Other tracks at the shelf who may have taken (part of) it: staff are asked which
    #: of them did (hub/unmanned/carts.py) rather than risk a silent wrong charge.
    also: tuple[str, ...] = ()
    #: Units of ``count`` that are surely ``track``'s (the camera saw that hand take them;
    #: the scale lost more), and how sure: only the rest is anybody's in :attr:`also`.
    sure: int = 0
    sure_confidence: float = 0.0


def by_stance(p: Pending, views: Sequence[tuple[str, float]]) -> tuple[str, float] | None:
    """Who made the change, weighing where the shoppers in reach stand with the views
    that named one of them (``(track, how sure)``: the shelf camera's hand, the overhead
    tracking's arm): the likeliest of :attr:`Pending.tracks` and how likely
    (:func:`stance_odds`); None where where they stand says nothing the views did not."""
    odds = stance_odds(p, views)
    if odds is None:
        return None
    named = {t for t, _ in views}
    best = max(odds, key=lambda t: (odds[t], t in named))
    return best, odds[best]


def stance_odds(
    p: Pending, views: Sequence[tuple[str, float]], busy: Collection[str] = ()
) -> dict[str, float] | None:
    """How likely each of :attr:`Pending.tracks` made the change, given the views that
    named one of them and where they stand: a shopper in front of the slot reached in
    ``1 - SIDE_REACH`` likely against ``SIDE_REACH`` for one standing at another slot
    (``busy``: shoppers whose other hand is in the same reading, ``TWO_HANDS`` as
    likely again). None where that says nothing the views did not: where the shoppers
    stand is unknown, nobody or everybody stands in front, or the views named only
    shoppers who do.  Where they stand never names a shopper on its own (no view:
    None)."""
    front = p.front
    named = {t for t, _ in views}
    if not views or not front or len(front) == len(p.tracks) or named <= front:
        return None
    odds: dict[str, float] = {}
    for t in p.tracks:
        odds[t] = 1 - SIDE_REACH if t in front else SIDE_REACH
        if t in busy:
            odds[t] *= TWO_HANDS
        for who, sure in views:
            # A view that named the wrong shopper named any of the others as likely.
            odds[t] *= sure if who == t else (1 - sure) / (len(p.tracks) - 1)
    total = sum(odds.values())
    return {t: o / total for t, o in odds.items()}


def stood_beside(p: Pending, named: Collection[str]) -> str:
    """Why where they stand made a view unsure: who of ``named`` stood at another slot,
    and who in front of this one."""
    front = p.front or frozenset()
    side = sorted(set(named) - front)
    return f"{', '.join(side)} stood at another slot, {', '.join(sorted(front))} in front of it"


def hands_since(p: Pending, seen: Sequence[Seen]) -> list[Seen]:
    """The hands seen at the slot since its previous change (up to this one), earliest
    first: the scale reports once for hands that overlap."""
    since = [x for x in seen if p.could_cause(x.ts)]
    return sorted(since, key=lambda x: x.ts)


def arm_hands(p: Pending, seen: Sequence[Seen], arms: Sequence[tuple[float, str]]) -> list[Seen]:
    """The overhead tracking's arms (``(ts, track)``, this change's) that no camera hand
    of the same shopper matches, each one a hand: the camera's hand seen at that moment
    without whose it was, else one unit of the slot's item in the change's direction
    (the ceiling sees an arm, not what it holds)."""
    cams = [x for x in hands_since(p, seen) if x.track is not None]
    # Twins nearest in time first: one camera hand is the twin of one arm.
    pairs = sorted(
        (abs(x.ts - a[0]), i, j)
        for i, a in enumerate(arms)
        for j, x in enumerate(cams)
        if x.track == a[1] and abs(x.ts - a[0]) <= SAME_HAND_S
    )
    twinned: set[int] = set()
    used: set[int] = set()
    for _, i, j in pairs:
        if i not in twinned and j not in used:
            twinned.add(i)
            used.add(j)
    action: Action = "pick" if p.delta < 0 else "put"
    # A camera hand seen without whose it was at that moment is this arm's hand (what it
    # held and which way it went are the camera's) where nothing else could pair: one
    # such hand near the arm, and no other arm without a camera hand near that hand.
    unnamed = [x for x in hands_since(p, seen) if x.track is None]
    free = [a[0] for i, a in enumerate(arms) if i not in twinned]

    def near(ts: float, among: Sequence[float]) -> list[int]:
        return [k for k, t in enumerate(among) if abs(t - ts) <= SAME_HAND_S]

    out: list[Seen] = []
    for i, (ts, track) in enumerate(arms):
        if i in twinned:
            continue
        hands = near(ts, [x.ts for x in unnamed])
        if len(hands) == 1 and len(near(unnamed[hands[0]].ts, free)) == 1:
            x = unnamed[hands[0]]
            who = min(x.confidence, TRACKING_WHO)
            out.append(replace(x, track=track, confidence=who, arm_only=True))
        else:
            out.append(Seen(ts, action, None, 1, TRACKING_WHO, track, arm_only=True))
    return out


def explain(
    p: Pending,
    seen: Sequence[Seen],
    planned: str,
    noise_g: float,
    unit_weight: Callable[[str], float | None],
    arms: Sequence[Seen] = (),
) -> tuple[Seen, ...] | None:
    """The most hands (two or more, each with its shopper) seen at the slot since its
    previous change, by the camera or as ``arms`` (:func:`arm_hands`), whose items'
    signed weights add up to this change within the scale's noise; the earliest such
    hands when several sets do."""
    cams = [x for x in hands_since(p, seen) if x.track is not None]
    since = sorted([*cams, *arms], key=lambda x: x.ts)[:MAX_HANDS]
    grams: dict[Seen, float] = {}
    for x in since:
        w = unit_weight(x.gtin or planned)
        if w:
            grams[x] = (1 if x.action == "put" else -1) * x.count * w
    hands = [x for x in since if x in grams]
    for size in range(len(hands), 1, -1):
        fitting = [
            combo
            for combo in combinations(hands, size)
            if adds_up(p, [grams[x] for x in combo], noise_g)
        ]
        if fitting:
            return min(fitting, key=lambda combo: sum(x.ts for x in combo))
    return None


def adds_up(p: Pending, grams: Sequence[float], noise_g: float) -> bool:
    """Whether hands of these signed weights add up to the change, within the scale's
    noise and 2 % of the weights (packs differ)."""
    allowance = 4 * noise_g * math.sqrt(2) + 0.02 * sum(abs(g) for g in grams)
    return abs(sum(grams) - p.delta) <= allowance


def unsure_items(
    p: Pending,
    hands: Sequence[Seen],
    planned: str,
    others: Iterable[str],
    noise_g: float,
    unit_weight: Callable[[str], float | None],
) -> set[Seen]:
    """The hands whose item no camera recognised (the slot's planned item assumed) for
    which one of the ``others`` known to lie on the slot would add up as well."""

    def signed(x: Seen, gtin: str) -> float:
        return (1 if x.action == "put" else -1) * x.count * (unit_weight(gtin) or 0.0)

    out: set[Seen] = set()
    for h in hands:
        if h.gtin is not None:
            continue
        rest = [signed(x, x.gtin or planned) for x in hands if x is not h]
        if any(unit_weight(g) and adds_up(p, [*rest, signed(h, g)], noise_g) for g in others):
            out.add(h)
    return out


def together_picks(
    p: Pending,
    hands: tuple[Seen, ...],
    planned: str,
    held: Callable[[str], Mapping[str, int]],
    *,
    unsure: Collection[Seen] = (),
    armed: Collection[str] = (),
) -> list[Pick]:
    """One pick per hand of a change :func:`explain` matched; unsure where the one putting
    it back does not hold it, or the hand is one of ``unsure`` (:func:`unsure_items`).
    ``armed``: the tracks whose arms the overhead tracking saw go into the slot for this
    change (a camera hand's shopper among them: both views named them)."""
    weight = Evidence(
        source="weight",
        device=p.shelf,
        ts=p.ts,
        confidence=1.0,
        slot=p.slot,
        tracks=p.tracks,
        note=f"{len(hands)} hands at once",
    )
    out: list[Pick] = []
    for i, h in enumerate(hands):
        assert h.track is not None
        gtin = h.gtin or planned
        why: list[str] = []
        if h.arm_only:
            twin = any(x.track == h.track and x is not h for x in hands)
            sure = TRACKING_WHO if h.track in p.tracks and not twin else DOUBTFUL_ARM
            who = sure
            why.append(
                "the overhead tracking saw the arm, the shelf camera no hand"
                if h.gtin is None
                else "the shelf camera saw the hand, not whose; the overhead tracking the arm"
            )
            if twin:
                why.append(f"the camera saw another hand of {h.track}'s: maybe another's arm")
        else:
            sure = CAMERA_WHO if h.confidence >= 0.8 and h.track in p.tracks else 0.7
        views = [(h.track, sure)]
        if not h.arm_only and h.track in armed:
            views.append((h.track, TRACKING_WHO))  # (the ceiling saw that arm too)
        busy = {x.track for x in hands if x is not h and x.track is not None}
        odds = stance_odds(p, views, busy) if h.track in p.tracks else None
        if odds is not None:
            sure = min(sure, round(odds[h.track], 3))
            why.append(stood_beside(p, [h.track]))
        who = sure
        if h in unsure:
            sure = min(sure, 0.6)  # the planned item, or another lying there
            why.append("not recognised, and another item lying there adds up as well")
        if h.action == "put":
            # What the hand's shopper holds, with what they took in these same hands.
            took = sum(
                x.count
                for x in hands[:i]
                if x.track == h.track and x.action == "pick" and (x.gtin or planned) == gtin
            )
            if held(h.track).get(gtin, 0) + took < h.count:
                sure = min(sure, 0.6)  # put back by someone not holding it
                why.append(f"put back by {h.track}, who does not hold one")
        # Whose it was is unsure (not what): the others in reach may have made it.
        also = tuple(t for t in p.tracks if t != h.track) if who < 0.9 else ()
        seen_by = Evidence(
            source="tracking" if h.arm_only else "vision",
            device=p.shelf,
            ts=h.ts,
            confidence=h.confidence,
            slot=p.slot,
            tracks=(h.track,),
            note="; ".join(why) or None,
        )
        evidence = (weight, seen_by)
        out.append(Pick(p.shelf, p.slot, h.action, gtin, h.count, h.track, sure, evidence, also))
    return out
