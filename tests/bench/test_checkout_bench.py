"""bench/checkout.py, in miniature: one scenario in its own process, its knobs carried
over whole, its report read back."""

from __future__ import annotations

import pytest

from bench.checkout import combine, run_isolated
from simulators.store.shoppers import Knobs

pytestmark = pytest.mark.integration


def test_a_scenario_runs_in_its_own_process_with_its_knobs() -> None:
    knobs = Knobs(
        model="grab_and_go", shoppers=2, seed=2, thieves=0, payment_failures=0,
        reach=False, crowd_at="slot", vision_miss=0.0, track_miss=0.0,
    )  # fmt: skip
    report = run_isolated(knobs)
    assert report is not None and report.knobs == knobs
    s = combine([report])
    assert s["shoppers"] == 2 and s["exact"] == s["honest"] == 2
    assert s["silent_unpaid_exits"] == 0 and s["exit_p99_s"] is not None


def test_knobs_survive_the_trip() -> None:
    knobs = Knobs(model="rfid_box", items=(2, 3), fire_at=4.0, fire_for=None)
    assert Knobs.from_json(knobs.to_json()) == knobs
