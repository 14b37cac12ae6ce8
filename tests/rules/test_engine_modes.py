"""Run modes (single, restart, queued, parallel) with a fake services seam: each run
raises an alert, waits at a gate the test opens, then raises a second one."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import pytest

from rules.actions import AlertStep, DelayStep, Step
from rules.core import Evaluator
from rules.runner import Runner
from tests.rules.test_engine_core import Clock, core_with, event


class GatedServices:
    """Records steps; a ``delay`` step waits until the test opens :attr:`gate`."""

    def __init__(self) -> None:
        self.steps: list[tuple[str, str]] = []  # (title, payload n)
        self.gate = asyncio.Event()
        self.fail_titles: set[str] = set()

    async def execute(self, step: Step, vars: dict[str, Any]) -> bool:
        if isinstance(step, DelayStep):
            await self.gate.wait()
            return True
        assert isinstance(step, AlertStep)
        self.steps.append((step.title, str(vars["payload"]["n"])))
        return step.title not in self.fail_titles


def spawn(coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
    return asyncio.create_task(coro, name=name)


def rule(mode: str, max_runs: int = 10) -> str:
    return f"""
[[rules]]
name = "r"
trigger = {{ type = "event", name = "go" }}
mode = "{mode}"
max = {max_runs}
actions = [
  {{ type = "alert", kind = "k", title = "start" }},
  {{ type = "delay", seconds = 60 }},
  {{ type = "alert", kind = "k", title = "end" }},
]
"""


async def fire(core: Evaluator, runner: Runner, n: int) -> bool:
    [firing] = core.handle(event("kiosk-1", "go", n=n))
    started = runner.dispatch(firing)
    await asyncio.sleep(0)  # let a started run reach its gate
    await asyncio.sleep(0)
    return started


async def settle(runner: Runner, services: GatedServices) -> None:
    services.gate.set()
    for _ in range(50):
        await asyncio.sleep(0)
        if not runner.running("r"):
            return
    raise AssertionError("runs did not finish")


@pytest.fixture
def services() -> GatedServices:
    return GatedServices()


async def test_single_drops_firings_while_running(services: GatedServices) -> None:
    core, runner = core_with(rule("single"), Clock()), Runner(services, spawn)
    assert await fire(core, runner, 1)
    assert not await fire(core, runner, 2)
    await settle(runner, services)
    assert services.steps == [("start", "1"), ("end", "1")]
    stats = core.rules["r"].stats
    assert (stats.fires, stats.runs, stats.skipped) == (2, 1, 1)
    assert await fire(core, runner, 3)  # idle again: runs
    await settle(runner, services)
    assert services.steps[-1] == ("end", "3")


async def test_restart_cancels_the_running_run(services: GatedServices) -> None:
    core, runner = core_with(rule("restart"), Clock()), Runner(services, spawn)
    assert await fire(core, runner, 1)
    assert await fire(core, runner, 2)
    assert runner.running("r") == 1
    await settle(runner, services)
    assert services.steps == [("start", "1"), ("start", "2"), ("end", "2")]


async def test_queued_runs_in_order_up_to_max(services: GatedServices) -> None:
    core, runner = core_with(rule("queued", max_runs=3), Clock()), Runner(services, spawn)
    for n in (1, 2, 3):
        assert await fire(core, runner, n)
    assert not await fire(core, runner, 4)  # 1 running + 2 queued = max
    assert (runner.running("r"), runner.queued("r")) == (1, 2)
    await settle(runner, services)
    await asyncio.sleep(0)
    assert services.steps == [
        ("start", "1"),
        ("end", "1"),
        ("start", "2"),
        ("end", "2"),
        ("start", "3"),
        ("end", "3"),
    ]
    assert core.rules["r"].stats.skipped == 1


async def test_parallel_runs_side_by_side_up_to_max(services: GatedServices) -> None:
    core, runner = core_with(rule("parallel", max_runs=2), Clock()), Runner(services, spawn)
    assert await fire(core, runner, 1)
    assert await fire(core, runner, 2)
    assert not await fire(core, runner, 3)
    assert runner.running("r") == 2
    assert services.steps == [("start", "1"), ("start", "2")]
    await settle(runner, services)
    assert sorted(services.steps[2:]) == [("end", "1"), ("end", "2")]


async def test_a_failed_step_counts_an_error_and_the_run_goes_on(
    services: GatedServices,
) -> None:
    core, runner = core_with(rule("single"), Clock()), Runner(services, spawn)
    services.fail_titles.add("start")
    services.gate.set()
    assert await fire(core, runner, 1)
    await settle(runner, services)
    assert services.steps == [("start", "1"), ("end", "1")]
    assert core.rules["r"].stats.errors == 1


async def test_cancel_all_stops_running_and_queued_runs(services: GatedServices) -> None:
    core, runner = core_with(rule("queued"), Clock()), Runner(services, spawn)
    await fire(core, runner, 1)
    await fire(core, runner, 2)
    await runner.cancel_all()
    assert (runner.running("r"), runner.queued("r")) == (0, 0)
    assert services.steps == [("start", "1")]
