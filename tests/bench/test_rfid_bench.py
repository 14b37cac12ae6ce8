"""bench/rfid.py, in miniature: no timings, only that it measures the right thing."""

from __future__ import annotations

import pytest

from bench.rfid import Options, run_bench, stats

pytestmark = pytest.mark.integration


def test_unpaid_walks_alarm_and_paid_walks_do_not() -> None:
    f = run_bench(
        Options(
            rate=200,
            publishers=1,
            doors=3,
            kiosks=1,
            gates=2,
            walks=3,
            paid_every=3,
            warmup_s=0.2,
            plugins="gate",
        )
    )
    assert (f.walks_unpaid, f.walks_paid) == (4, 2)
    assert f.alarms == f.hub_alarms == f.unpaid_exit_alerts == 4 and f.missed == 0
    assert f.paid_alarms == 0 and f.rejected == 0
    assert f.hub_ms["n"] == 4 and f.device_ms["n"] == 4
    assert f.background_hub_eps > 0 and f.plugins == ["rules.gate"]


def test_stats() -> None:
    assert stats([]) == {}
    s = stats([float(i) for i in range(1, 101)])
    assert (s["n"], s["p50"], s["p99"], s["max"]) == (100, 51.0, 100.0, 100.0)
