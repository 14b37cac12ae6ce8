"""Smoke test of bench/ingest.py: a tiny run completes with every event journaled once.

Only correctness is asserted here; the performance goal (hub ≥ 0.6× the bare client)
lives in the bench and docs/benchmarks.md, not in a test.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench.ingest import Options, render, run_bench

pytestmark = pytest.mark.integration


def test_a_tiny_run_journals_every_event_once() -> None:
    if not (shutil.which("mosquitto") or Path("/usr/sbin/mosquitto").exists()):
        pytest.fail("mosquitto is not installed (apt-get install mosquitto)")
    # Short on purpose: a paced live round (500 events/s) leaves no backlog to wait for, and
    # a bare hub (no rules, no store API: they have their own tests) starts faster.
    options = Options(
        events=2_000,
        devices=5,
        publishers=2,
        rounds=1,
        live_seconds=1.0,
        live_rate=500.0,
        bare=True,
    )
    figures = run_bench(options)
    assert (figures.lost, figures.duplicates, figures.deadletters) == (0, 0, 0)
    assert figures.live_events > 0
    positive = [
        figures.raw_drain_best_eps,
        figures.hub_drain_best_eps,
        figures.ratio,
        figures.live_journaled_eps,
        figures.live_offered_eps,
        figures.hub_rss_peak_mib,
        figures.journal_avg_batch,
        *figures.raw_cpu_us,
        *figures.hub_cpu_us,
    ]
    assert all(x > 0 for x in positive), figures
    assert render(figures).row_count > 0
