"""The ESL benchmark runs end to end at a small size (the figures are in docs/benchmarks.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.esl import run_bench
from tests.conftest import Mosquitto

pytestmark = pytest.mark.integration


async def test_small_store_converges_and_skips_unchanged(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    result = await run_bench(
        300, 2, 0.3, workdir=tmp_path, broker_url=mosquitto.url, port=mosquitto.port
    )
    assert result["changed_items"] == 90
    assert result["confirmed"] == 90 and result["failed"] == 0
    assert result["skipped_by_hash"] == 210 and result["rendered"] == 90
    assert result["rendered_per_s"] > 0
