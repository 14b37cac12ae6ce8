"""What a scenario produced: each shopper's outcome, and the figures the bench reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from simulators.store.shoppers import Knobs


@dataclass(slots=True)
class Outcome:
    shopper: int
    session: str | None
    truth: dict[str, int]
    charged: dict[str, int]
    reviewed: bool
    review_outcome: str | None
    exit: str
    latency: float | None
    thief: bool
    alarmed: bool
    silent_unpaid: bool
    #: Why the session's bill went to review (the review's reason), if it did.
    review_reason: str | None = None
    #: A charge that went out wrong without review: what happened at the shelves the
    #: shopper used, and the session's cart lines with each sensor's word.
    trace: list[str] = field(default_factory=list)

    @property
    def exact(self) -> bool:
        return self.truth == self.charged


@dataclass(slots=True)
class Report:
    knobs: Knobs
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0
    #: Reviews staff had to work (a dispute among several shoppers is one).
    reviews: int = 0

    def summary(self) -> dict[str, Any]:
        honest = [o for o in self.outcomes if not o.thief]
        # A thief who carried nothing out (put it all back) stole nothing: not counted.
        thieves = [o for o in self.outcomes if o.thief and o.truth]
        lat = sorted(o.latency for o in self.outcomes if o.latency is not None)

        def pct(q: float) -> float | None:
            return lat[min(len(lat) - 1, int(q * len(lat)))] if lat else None

        reviews = [o.review_outcome for o in self.outcomes if o.reviewed]
        return {
            "model": self.knobs.model,
            "shoppers": len(self.outcomes),
            "exact": sum(o.exact for o in honest),
            "honest": len(honest),
            # Sent to review over the bill (a declined card's bill is queued too: counted
            # under "declined", not here).
            "reviewed": sum(o.reviewed and o.exit != "declined" for o in self.outcomes),
            "reviews": self.reviews,
            "confirmed": reviews.count("confirmed"),
            "corrected": reviews.count("corrected"),
            "wrong_auto_charges": sum(1 for o in honest if not o.exact and not o.reviewed),
            "silent_unpaid_exits": sum(o.silent_unpaid for o in self.outcomes),
            "thieves_alarmed": sum(o.alarmed for o in thieves),
            # Stopped at the door, or billed for everything they took.
            "thieves_caught": sum(
                o.alarmed or all(o.charged.get(g, 0) >= n for g, n in o.truth.items())
                for o in thieves
            ),
            "thieves": len(thieves),
            "declined": sum(o.exit == "declined" for o in self.outcomes),
            "stuck": sum(o.exit == "stuck" for o in self.outcomes),
            "exit_p50_s": pct(0.5),
            "exit_p99_s": pct(0.99),
            "seconds": round(self.seconds, 1),
        }
