"""The cloud sync benchmark runs end to end at a small size (figures: docs/benchmarks.md)."""

from __future__ import annotations

from bench.sync import run_bench


async def test_small_drain_is_exactly_once_also_under_chaos() -> None:
    fig = await run_bench(3000, 500)
    clean, chaos = fig.rounds
    assert clean.rows == clean.cloud_records == 3000
    assert chaos.rows == 600 and chaos.cloud_records == 3600
    for r in fig.rounds:
        assert r.duplicates_applied == 0 and r.duplicates_by_payload == 0 and r.out_of_order == 0
        assert r.rate > 0 and r.store_cpu_us > 0
