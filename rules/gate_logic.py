"""What an RFID gate's reads mean: the pure state machine of one reader.

No I/O and an injectable clock, so every decision can be replayed in a test.
Fed with the reads of ``reads`` events (:meth:`GateTracker.feed`) and ticked
periodically (:meth:`GateTracker.tick`), it returns :class:`TagChange` values:

- ``arrived``   — a tag is read for the first time (EdgeX presence);
- ``moved``     — its location (antenna) changed (EdgeX presence);
- ``departed``  — it has not been read for ``departed_after_s`` and is forgotten;
- ``leaving``   — it was on the inside and now is on the outside (contract);
- ``entering``  — the reverse;
- ``lingering`` — it has been read on one side only for ``linger_after_s``
  (a tag on a display beside the gate, a shopper waiting in the doorway):
  reported once per stay, never alarmed.

Noise, and how it is handled.  Real gates miss reads, read tags standing near
the gate on the far antenna too (cross-reads: reflections and back lobes, far
weaker than the tag's reads on its own side), and RSSI jitters by a few dB.
The reads of a tag within ``merge_window_s`` are merged into evidence per
antenna and per side (count, peak RSSI), and a tag on side C read on the other
side S changes side only when

1. S has at least ``direction_min_reads`` reads in the window (default 1: the
   contract's "read inside, then outside" must hold for a single read each);
2. S is not an echo: if C was read in the window too, S's peak RSSI is not
   more than ``echo_margin_db`` below C's.  A tag standing inside, read on the
   outside antenna now and then 20 dB weaker, stays inside;
3. it has not changed side in the last ``2 × merge_window_s`` (refractory):
   a tag in the doorway is read on both sides for a moment, and nobody walks out
   and back in within two seconds — without this one crossing would come out
   as leaving, entering, leaving.

When S is *stronger* than C by more than the margin, C was the echo (the first
read of the tag happened to be a cross-read): the side is corrected without a
leaving or entering.  A tag's first read sets its side; the first read being
an echo is what the correction is for.  ``moved`` (the location, i.e. the
antenna) needs ``moved_min_reads`` reads on the new antenna in the window and
a peak there no weaker than the old antenna's.

Time.  The machine runs on the hub's clock: each read is placed at the time the
event was received, minus how much older the read is than the event
(``event.ts - read.ts``, clamped to ``[0, max_skew_s]``).  That keeps the order
and spacing of the reads within a batch (a Zebra reader batches up to a
second) while staying immune to a reader whose clock is off.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from devices.rfid_gate.config import RfidGateConfig

Side = Literal["inside", "outside"]
ChangeKind = Literal["arrived", "moved", "departed", "leaving", "entering", "lingering"]

_NEG_INF = float("-inf")


class ReadLike(Protocol):
    """One tag read: :class:`devices.rfid_gate.codec.TagRead` or anything shaped like it."""

    @property
    def epc(self) -> str: ...
    @property
    def antenna(self) -> int: ...
    @property
    def rssi(self) -> float: ...
    @property
    def ts(self) -> float: ...


@dataclass(frozen=True, slots=True)
class GateSettings:
    inside: frozenset[int]
    outside: frozenset[int]
    merge_window_s: float = 1.0
    direction_min_reads: int = 1
    moved_min_reads: int = 2
    echo_margin_db: float = 15.0
    departed_after_s: float = 600.0
    linger_after_s: float = 30.0
    #: Most tags remembered; beyond it the least recently read one departs early.
    max_tags: int = 100_000
    #: How much older than its event a read may be placed (a reader's batch).
    max_skew_s: float = 60.0

    @classmethod
    def from_config(cls, config: RfidGateConfig) -> GateSettings:
        return cls(
            inside=frozenset(config.inside_antennas),
            outside=frozenset(config.outside_antennas),
            merge_window_s=config.merge_window_s,
            direction_min_reads=config.direction_min_reads,
            echo_margin_db=config.echo_margin_db,
            moved_min_reads=config.moved_min_reads,
            departed_after_s=config.departed_after_s,
            linger_after_s=config.linger_after_s,
        )


@dataclass(frozen=True, slots=True)
class TagChange:
    kind: ChangeKind
    epc: str
    #: Hub time of the read (or tick) that decided it.
    ts: float
    #: The tag's location after the change (``departed``: its last one).
    antenna: int
    side: Side | None
    #: ``moved``: the antenna it came from.
    from_antenna: int | None = None
    #: RSSI of the deciding read (``None`` for ``departed``).
    rssi: float | None = None
    #: Reads of the tag since it arrived.
    reads: int = 0


@dataclass(slots=True)
class _Tag:
    epc: str
    first_seen: float
    last_seen: float
    antenna: int
    side: Side | None = None
    side_since: float = 0.0
    #: When it last changed side (leaving or entering): starts the refractory time.
    switched: float = _NEG_INF
    reads: int = 0
    lingering: bool = False
    #: Reads within the merge window: (hub time, antenna, rssi), oldest first.
    window: deque[tuple[float, int, float]] = field(default_factory=deque)


@dataclass(frozen=True, slots=True)
class TagView:
    """What the tracker knows of one tag (for inspection and the API)."""

    epc: str
    first_seen: float
    last_seen: float
    antenna: int
    side: Side | None
    reads: int


class GateTracker:
    def __init__(self, settings: GateSettings, *, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self._clock = clock
        self._sides: dict[int, Side] = {a: "inside" for a in settings.inside}
        self._sides.update({a: "outside" for a in settings.outside})
        # Least recently read first: departures are popped from the front.
        self._tags: OrderedDict[str, _Tag] = OrderedDict()

    def __len__(self) -> int:
        return len(self._tags)

    def tag(self, epc: str) -> TagView | None:
        t = self._tags.get(epc.upper())
        if t is None:
            return None
        return TagView(t.epc, t.first_seen, t.last_seen, t.antenna, t.side, t.reads)

    def feed(
        self,
        reads: Iterable[ReadLike],
        *,
        sent: float | None = None,
        received: float | None = None,
    ) -> list[TagChange]:
        """Take the reads of one event (``sent`` = the event's ``ts``, ``received`` = hub
        time it arrived, default now); returns what changed, in order."""
        batch = list(reads)
        if not batch:
            return []
        now = self._clock() if received is None else received
        anchor = max(r.ts for r in batch) if sent is None else sent
        skew = self.settings.max_skew_s
        placed = sorted(
            ((now + max(-skew, min(0.0, r.ts - anchor)), i) for i, r in enumerate(batch))
        )
        changes: list[TagChange] = []
        for t, i in placed:
            r = batch[i]
            self._observe(r.epc.upper(), r.antenna, r.rssi, t, changes)
        return changes

    def tick(self, now: float | None = None) -> list[TagChange]:
        """Forget the tags not read for ``departed_after_s``; returns their departures."""
        now = self._clock() if now is None else now
        cutoff = now - self.settings.departed_after_s
        changes: list[TagChange] = []
        while self._tags:
            tag = next(iter(self._tags.values()))
            if tag.last_seen > cutoff:
                break
            self._tags.popitem(last=False)
            changes.append(self._change("departed", tag, now, rssi=None))
        return changes

    # -- the machine -----------------------------------------------------------

    def _observe(
        self, epc: str, antenna: int, rssi: float, t: float, changes: list[TagChange]
    ) -> None:
        s = self.settings
        tag = self._tags.get(epc)
        if tag is None:
            tag = _Tag(epc=epc, first_seen=t, last_seen=t, antenna=antenna, side_since=t)
            self._tags[epc] = tag
            tag.reads = 1
            tag.window.append((t, antenna, rssi))
            changes.append(self._change("arrived", tag, t, rssi))
            if len(self._tags) > s.max_tags:
                _, oldest = self._tags.popitem(last=False)
                changes.append(self._change("departed", oldest, t, rssi=None))
            self._decide_side(tag, antenna, rssi, t, changes)
            return
        self._tags.move_to_end(epc)
        t = max(t, tag.last_seen)  # batches may overlap; a tag's own time never runs back
        tag.last_seen = t
        tag.reads += 1
        window = tag.window
        window.append((t, antenna, rssi))
        horizon = t - s.merge_window_s
        while window[0][0] < horizon:
            window.popleft()

        if antenna != tag.antenna and _dominates(window, antenna, tag.antenna, s.moved_min_reads):
            before = tag.antenna
            tag.antenna = antenna
            changes.append(self._change("moved", tag, t, rssi, from_antenna=before))
        self._decide_side(tag, antenna, rssi, t, changes)
        if not tag.lingering and tag.side is not None and t - tag.side_since >= s.linger_after_s:
            tag.lingering = True
            changes.append(self._change("lingering", tag, t, rssi))

    def _decide_side(
        self, tag: _Tag, antenna: int, rssi: float, t: float, changes: list[TagChange]
    ) -> None:
        side = self._sides.get(antenna)
        if side is None or side == tag.side:
            return  # an antenna of neither side, or no news
        if tag.side is None:
            tag.side, tag.side_since = side, t
            return
        s = self.settings
        if t - tag.switched < 2 * s.merge_window_s:
            return
        new = s.inside if side == "inside" else s.outside
        count, peak_new, peak_old = 0, _NEG_INF, _NEG_INF
        for _, a, r in tag.window:
            if a in new:
                count += 1
                peak_new = max(peak_new, r)
            elif self._sides.get(a) == tag.side:
                peak_old = max(peak_old, r)
        if count < s.direction_min_reads:
            return
        if peak_old != _NEG_INF and peak_new < peak_old - s.echo_margin_db:
            return  # an echo of a tag that stays where it is
        before = tag.side
        tag.side, tag.side_since, tag.lingering = side, t, False
        if peak_old != _NEG_INF and peak_new > peak_old + s.echo_margin_db:
            return  # the old side was the echo: corrected, no passage
        tag.switched = t
        kind: ChangeKind = "leaving" if before == "inside" else "entering"
        changes.append(self._change(kind, tag, t, rssi))

    @staticmethod
    def _change(
        kind: ChangeKind,
        tag: _Tag,
        t: float,
        rssi: float | None,
        *,
        from_antenna: int | None = None,
    ) -> TagChange:
        return TagChange(
            kind=kind,
            epc=tag.epc,
            ts=t,
            antenna=tag.antenna,
            side=tag.side,
            from_antenna=from_antenna,
            rssi=rssi,
            reads=tag.reads,
        )


def _dominates(window: deque[tuple[float, int, float]], new: int, old: int, min_reads: int) -> bool:
    """Whether antenna ``new`` has taken the tag over from ``old`` in the window: enough
    reads, and a peak no weaker than ``old``'s (which may have aged out of the window)."""
    count = 0
    peak_new = peak_old = _NEG_INF
    for _, antenna, rssi in window:
        if antenna == new:
            count += 1
            peak_new = max(peak_new, rssi)
        elif antenna == old:
            peak_old = max(peak_old, rssi)
    return count >= min_reads and peak_new >= peak_old
