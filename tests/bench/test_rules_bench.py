"""Smoke test of bench/rules.py's storehub half (no Node-RED needed): every event
through the hub's rules comes back out as an alert; the generated Node-RED flow is
well formed.  Only correctness here; the figures live in docs/benchmarks.md."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from bench.rules import (
    flows_json,
    function_js,
    process_cpu,
    render,
    rules_toml,
    run_core,
    run_storehub,
)
from rules.model import parse_rules
from tests.conftest import Mosquitto

pytestmark = pytest.mark.integration


async def test_storehub_half_passes_every_event_through(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    rate = await run_storehub(mosquitto.port, 10, 200, tmp_path)
    assert (rate.received, rate.events) == (200, 200)
    assert rate.rate > 0 and rate.cpu_seconds > 0
    core = run_core(10, 200)
    linear = run_core(10, 200, linear=True)
    assert core.received == linear.received == 200 and core.rate > 0 and linear.rate > 0
    assert "storehub" in str(render([rate, core, linear], [10]).columns[3].header)
    assert process_cpu(os.getpid()) > 0


def test_generated_rules_are_valid_and_disjoint() -> None:
    found, errors = parse_rules(rules_toml(100), Path("bench.toml"))
    assert errors == [] and len(found) == 100
    exprs = {r.conditions[0].expr for r in found}  # type: ignore[attr-defined]
    assert len(exprs) == 100  # each event matches exactly one rule


def test_node_red_flow_is_well_formed() -> None:
    flow = flows_json(10, 1883)
    by_id = {node["id"]: node for node in flow}
    assert by_id["in"]["wires"] == [["fn"]] and by_id["fn"]["wires"] == [["out"]]
    assert by_id["broker"]["port"] == "1883"
    assert function_js(10).count("if (") == 10
    json.dumps(flow)
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the function body is not compiled")
    check = f"new Function('msg', {json.dumps(function_js(10))});"
    subprocess.run([node, "-e", check], check=True, timeout=30)
