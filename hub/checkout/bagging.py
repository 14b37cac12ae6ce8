"""The bagging-area weight check: every scanned item must show up on the scale, and
nothing else may.

The kiosk reports *stable* readings of its bagging-area scale (total grams on
it).  :class:`BagScale` keeps the weight it expects there and a queue of items
scanned but not yet placed:

- a reading within tolerance of "expected + the next item" places that item;
- a reading still at "expected" means nothing was placed yet (wait, up to
  ``place_timeout_s``, then :data:`NOT_PLACED`);
- anything else is :data:`UNEXPECTED` (a heavier or lighter item than scanned: a
  swap), :data:`UNSCANNED` (weight added with nothing scanned) or :data:`REMOVED`.

Expected weights come from the catalog (``weight_g``) or, where it has none,
are learned per item from confirmed sales (:class:`WeightBook`, Welford's
running mean and variance); an item with neither is accepted at any weight
above ``min_place_g`` and its weight learned.  Staff clearing an alert vouch
for what is on the scale: :meth:`BagScale.rebase` takes the reading as the new
expectation.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

Problem = Literal["unexpected_weight", "not_placed", "unscanned_item", "item_removed"]
UNEXPECTED: Problem = "unexpected_weight"
NOT_PLACED: Problem = "not_placed"
UNSCANNED: Problem = "unscanned_item"
REMOVED: Problem = "item_removed"


@dataclass(frozen=True, slots=True)
class Expectation:
    """What one scanned unit should weigh; ``grams=None``: unknown yet (learning)."""

    grams: float | None
    tolerance: float


@dataclass(slots=True)
class WeightStats:
    n: int = 0
    mean: float = 0.0
    m2: float = 0.0

    def add(self, grams: float) -> None:
        self.n += 1
        delta = grams - self.mean
        self.mean += delta / self.n
        self.m2 += delta * (grams - self.mean)

    @property
    def std(self) -> float:
        return math.sqrt(self.m2 / (self.n - 1)) if self.n > 1 else 0.0


class WeightBook:
    """Learned weights per GTIN, from the bagging-area readings of confirmed sales."""

    def __init__(self, *, min_samples: int = 3, sigmas: float = 3.0) -> None:
        self.min_samples = min_samples
        self.sigmas = sigmas
        self.stats: dict[str, WeightStats] = {}

    def learn(self, gtin: str, grams: float) -> WeightStats:
        stats = self.stats.setdefault(gtin, WeightStats())
        stats.add(grams)
        return stats

    def expect(
        self, gtin: str, configured: float | None, base_tolerance: float, tolerance_pct: float
    ) -> Expectation:
        """The expectation for one unit: the catalog weight if it has one, else the
        learned mean once there are ``min_samples`` (tolerance widened to
        ``sigmas`` standard deviations), else unknown."""
        if configured is not None:
            return Expectation(configured, max(base_tolerance, configured * tolerance_pct))
        stats = self.stats.get(gtin)
        if stats is None or stats.n < self.min_samples:
            return Expectation(None, base_tolerance)
        spread = self.sigmas * stats.std
        return Expectation(stats.mean, max(base_tolerance, stats.mean * tolerance_pct, spread))


@dataclass(slots=True)
class _Waiting:
    line: int
    expect: Expectation
    deadline: float


@dataclass(frozen=True, slots=True)
class Placed:
    line: int
    grams: float


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of one reading or tick: items placed, or a problem for staff."""

    placed: tuple[Placed, ...] = ()
    problem: Problem | None = None
    #: Grams off from what was expected (signed), for the alert.
    off_by: float = 0.0
    line: int | None = None


@dataclass
class BagScale:
    place_timeout_s: float = 20.0
    #: Readings this close to the expectation are the same weight (scale noise).
    noise_g: float = 5.0
    #: Smallest weight that counts as "an item was placed" when its weight is unknown.
    min_place_g: float = 5.0
    expected: float = 0.0
    reading: float | None = None
    waiting: deque[_Waiting] = field(default_factory=deque)

    @property
    def pending(self) -> int:
        return len(self.waiting)

    def start(self) -> None:
        """A new basket: whatever is on the scale now (empty bags) is the baseline."""
        self.waiting.clear()
        self.expected = self.reading or 0.0

    def scanned(self, line: int, expect: Expectation, now: float) -> None:
        self.waiting.append(_Waiting(line, expect, now + self.place_timeout_s))

    def forget(self, line: int) -> None:
        """A voided line is no longer expected on the scale."""
        self.waiting = deque(w for w in self.waiting if w.line != line)

    def rebase(self) -> None:
        """Staff vouched for what is on the scale: expect exactly that, wait for nothing."""
        self.waiting.clear()
        self.expected = self.reading if self.reading is not None else self.expected

    def weigh(self, grams: float) -> Outcome:
        """A stable reading of the bagging-area scale."""
        self.reading = grams
        placed: list[Placed] = []
        delta = grams - self.expected
        # Several items may land between two readings: place them in scan order
        # while what was added still covers the next one.
        while self.waiting:
            head = self.waiting[0]
            exp = head.expect
            if exp.grams is None:
                if delta >= self.min_place_g and not placed:
                    placed.append(self._place(head, delta))
                    delta = 0.0
                break
            if abs(delta - exp.grams) <= exp.tolerance:
                placed.append(self._place(head, delta))
                delta = 0.0
                break
            if delta > exp.grams + exp.tolerance and len(self.waiting) > 1:
                # Maybe two at once: place this one at its expected weight, go on.
                placed.append(self._place(head, exp.grams))
                delta -= exp.grams
                continue
            break
        if abs(delta) <= self.noise_g:
            return Outcome(tuple(placed))
        if self.waiting:
            head = self.waiting[0]
            if head.expect.grams is None and delta > 0:
                return Outcome(tuple(placed))  # unknown weight: still settling
            off = delta - (head.expect.grams or 0.0)
            return Outcome(tuple(placed), UNEXPECTED, off, head.line)
        return Outcome(tuple(placed), UNSCANNED if delta > 0 else REMOVED, delta)

    def _place(self, waiting: _Waiting, grams: float) -> Placed:
        self.waiting.popleft()
        self.expected += grams
        return Placed(waiting.line, grams)

    def tick(self, now: float) -> Outcome:
        """Check the placing deadline of the oldest waiting item."""
        if self.waiting and now >= self.waiting[0].deadline:
            head = self.waiting[0]
            # Report it once: the next deadline is the staff's to clear.
            head.deadline = math.inf
            return Outcome(problem=NOT_PLACED, line=head.line)
        return Outcome()
