"""The unmanned checkout's Prometheus metrics (on the hub's registry, /metrics)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram


def metrics(r: CollectorRegistry) -> tuple[Counter, Counter, Counter, Histogram]:
    """Sessions opened (by how), entries refused (why), bills (outcome), exit decisions."""
    return (
        Counter("storehub_unmanned_sessions_total", "Sessions opened", ["via"], registry=r),
        Counter("storehub_unmanned_entry_refused_total", "Entry refused", ["reason"], registry=r),
        Counter("storehub_unmanned_bills_total", "Bills by outcome", ["outcome"], registry=r),
        Histogram(
            "storehub_unmanned_exit_seconds",
            "Exit request to door decision",
            ["model", "decision"],
            buckets=(0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0, 5.0),
            registry=r,
        ),
    )
