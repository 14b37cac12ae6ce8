"""Smoke test of bench/barcodes.py: a small frame set is generated and every decoder is timed.

Only the mechanics are asserted; the figures and the goal (combined ≥ the better library's
decode rate, in no more than the slower one's time) are the bench's, recorded in
docs/benchmarks.md.
"""

from __future__ import annotations

from bench.barcodes import CODES, render, run_bench, same_code


def test_a_small_run_times_three_decoders_on_the_same_frames() -> None:
    fig = run_bench(frames=24, seed=3, workers=1)
    assert fig.frames == 24 and sum(fig.by_symbology.values()) == 24
    assert [r.decoder for r in fig.rows] == ["pyzbar", "zxing-cpp", "combined"]
    for row in fig.rows:
        assert row.frames == 24 and 0 < row.read <= 24
        assert row.mean_ms > 0 and row.total_s > 0
    combined = fig.row("combined")
    assert sum(combined.by_decoder.values()) == combined.read
    assert set(combined.by_decoder) <= {"zxing-cpp", "pyzbar"}
    assert render(fig).row_count == 3


def test_codes_compare_without_separators_and_padding() -> None:
    assert same_code("0036000291452", "036000291452")
    assert same_code("0106901234567892\x1d10LOT42", "010690123456789210LOT42")
    assert not same_code("6901234567892", "6901234561012")
    assert len(CODES) >= 10
