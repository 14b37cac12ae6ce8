"""Swaps: hands at a slot whose scale never changed (hub/unmanned/shelves.py).

A pick and a put-back of the same item at one slot at once leave its weight unchanged,
so no scale change claims their hands; the fusion hands them here once they are older
than its horizon. Both are applied (unsure unless every piece fits), a hand whose
shopper nobody knows too (its pair's shopper must not leave unbilled or billed twice),
and a lone hand with another shopper's arm whose hand the camera missed; a lone
unexplained hand is taken for a touch and ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from hub.unmanned.hands import SAME_HAND_S, TRACKING_WHO, Action, Pick, Seen
from hub.unmanned.sessions import Evidence

#: Confidence of picks known only from the camera (a swap the scale could not see)...
SWAP_CONFIDENCE = 0.6
#: ... and of a swap every piece of which fits: the same item recognised in both hands,
#: both shoppers at the slot, the one putting back holding it.
SURE_SWAP_CONFIDENCE = 0.95


def swaps(
    shelf: str,
    slot: str,
    old: Sequence[Seen],
    arms: list[tuple[float, str]],
    *,
    planned: str | None,
    window: float,
    held: Callable[[str], Mapping[str, int]],
) -> tuple[list[Pick], list[Seen]]:
    """The picks of the hands ``old`` at the slot that the scale never explained, and the
    hands they used. ``arms``: the overhead tracking's arms at the slot (``(ts, track)``);
    one that completes a lone hand's swap is taken off it."""
    out: list[Pick] = []
    used: list[Seen] = []
    named = {whose(x, arms): x for x in old}
    # (hands with their shopper known pair first)
    ordered = sorted(named, key=lambda x: (x.track is None, x.ts))
    picks = [x for x in ordered if x.action == "pick"]
    puts = [x for x in ordered if x.action == "put"]
    for a in picks:
        b = next((y for y in puts if abs(y.ts - a.ts) <= window), None)
        if b is None:
            continue
        puts.remove(b)
        used += (named[a], named[b])
        note = "a pick and a put-back at once: the scale saw no change"
        out += _picks(shelf, slot, planned, (a, b), _confidence(a, b, held), note)
    # A lone hand whose other half the camera missed: the ceiling saw one other
    # shopper's arm go into the slot then that no camera hand of theirs explains —
    # they took (or put back) what this hand put back (or took). Unsure: reviewed.
    for h in [x for x in ordered if named[x] not in used and x.track is not None]:
        lone = [
            (ts, t)
            for ts, t in arms
            if t != h.track
            and abs(ts - h.ts) <= window
            and not any(y.track == t and abs(y.ts - ts) <= SAME_HAND_S for y in named)
        ]
        if len(lone) != 1:
            continue
        [(ts, t)] = lone
        arms.remove((ts, t))
        other: Action = "put" if h.action == "pick" else "pick"
        arm = Seen(ts, other, h.gtin, h.count, TRACKING_WHO, t, arm_only=True)
        used.append(named[h])
        note = (
            f"{h.track}'s hand and {t}'s arm at once (the camera missed that hand):"
            " the scale saw no change"
        )
        out += _picks(shelf, slot, planned, (h, arm), SWAP_CONFIDENCE, note)
    return out, used


def whose(h: Seen, arms: Sequence[tuple[float, str]]) -> Seen:
    """A camera hand without its shopper takes the shopper of the one arm the overhead
    tracking saw go into the slot at that moment (that shopper stood in reach)."""
    if h.track is not None:
        return h
    near = {t for ts, t in arms if abs(ts - h.ts) <= SAME_HAND_S}
    if len(near) != 1:
        return h
    track = near.pop()
    return replace(h, track=track, confidence=min(h.confidence, TRACKING_WHO), in_reach=True)


def _picks(
    shelf: str,
    slot: str,
    planned: str | None,
    hands: tuple[Seen, Seen],
    conf: float,
    note: str,
) -> list[Pick]:
    out = []
    for h in hands:
        gtin = h.gtin or planned or ""
        ev = Evidence(
            source="tracking" if h.arm_only else "vision",
            device=shelf,
            ts=h.ts,
            confidence=conf,
            slot=slot,
            tracks=(h.track,) if h.track else (),
            note=note,
        )
        out.append(Pick(shelf, slot, h.action, gtin, h.count, h.track, conf, (ev,)))
    return out


def _confidence(pick: Seen, put: Seen, held: Callable[[str], Mapping[str, int]]) -> float:
    same = pick.gtin is not None and pick.gtin == put.gtin and pick.count == put.count
    sure = min(pick.confidence, put.confidence) >= 0.8
    here = pick.in_reach and put.in_reach
    holder = put.track == pick.track or (
        put.track is not None and held(put.track).get(put.gtin or "", 0) >= put.count
    )
    return SURE_SWAP_CONFIDENCE if same and sure and here and holder else SWAP_CONFIDENCE
