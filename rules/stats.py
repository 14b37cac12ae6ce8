"""Per-rule counters, and their Prometheus face.

The hot path only bumps plain attributes of a :class:`Stats`; the collector
reads them when ``/metrics`` is scraped.  A labelled prometheus ``Counter``
per rule would take a lock on every evaluation — a thousand rules times every
event is too many for that.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector


@dataclass(slots=True)
class Stats:
    #: Times trigger matched and conditions were evaluated.
    evaluations: int = 0
    #: Times the rule fired (after for/debounce/throttle/count).
    fires: int = 0
    #: Conditions that failed on a value, actions that failed.
    errors: int = 0
    #: Seconds spent evaluating its conditions.
    seconds: float = 0.0
    #: Runs started, and firings dropped by the run mode (single busy, parallel full, ...).
    runs: int = 0
    skipped: int = 0


class RuleCollector(Collector):
    """Exposes every rule's :class:`Stats` as ``storehub_rule_*`` metrics, labelled by rule."""

    FIELDS = (
        ("evaluations", "Rule evaluations (trigger matched, conditions checked)"),
        ("fires", "Rule firings"),
        ("errors", "Rule errors (conditions and actions)"),
        ("seconds", "Seconds spent evaluating rule conditions"),
        ("runs", "Rule runs started"),
        ("skipped", "Rule firings dropped by the run mode"),
    )

    def __init__(self, source: Callable[[], Iterable[tuple[str, Stats]]]) -> None:
        self._source = source

    def collect(self) -> Iterator[Metric]:
        families = {
            name: CounterMetricFamily(f"storehub_rule_{name}", doc, labels=["rule"])
            for name, doc in self.FIELDS
        }
        for rule, stats in self._source():
            for name, family in families.items():
                family.add_metric([rule], float(getattr(stats, name)))
        yield from families.values()
