"""simulators.scenario: the file format, its checks, and playing it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from simulators.base import DeviceSimulator, SimEndpoint
from simulators.registry import simulator_for
from simulators.scenario import BUILTIN_DIR, ScenarioError, WalkStep, load_scenario, play
from tests.simulators.conftest import STORE, Broker, Watcher, demo_store


def demo_sims(endpoint: SimEndpoint | None = None) -> dict[str, DeviceSimulator[Any]]:
    ep = endpoint or SimEndpoint("127.0.0.1", 1883)
    return {d.id: simulator_for(d, STORE, ep, seed=1) for d in demo_store().devices}


@pytest.mark.parametrize("path", sorted(BUILTIN_DIR.glob("*.toml")), ids=lambda p: p.stem)
def test_shipped_scenarios_load_and_fit_the_demo_store(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.description
    scenario.check(demo_sims())
    assert load_scenario(path.stem) == scenario  # by name too


def test_json_scenarios_are_a_list_or_an_object(tmp_path: Path) -> None:
    steps = [{"at": 0, "device": "gate-out", "action": "walk", "gtin": "06901234567892"}]
    listed, wrapped = tmp_path / "a.json", tmp_path / "b.json"
    listed.write_text(json.dumps(steps))
    wrapped.write_text(json.dumps({"steps": steps}))
    assert load_scenario(listed) == load_scenario(wrapped)
    assert isinstance(load_scenario(listed).steps[0], WalkStep)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("steps = []", "steps: List should have at least 1 item"),
        ('[[steps]]\ndevice = "door-in"\naction = "fly"', "steps.0: Input tag 'fly'"),
        ('[[steps]]\ndevice = "gate-out"\naction = "walk"', "a walk needs epcs, count or gtin"),
        (
            '[[steps]]\ndevice = "gate-out"\naction = "walk"\ngtin = "06901234567891"',
            "wrong check digit",
        ),
        ('[[steps]]\nat = -1\ndevice = "door-in"\naction = "drop"', "steps.0.at"),
        ('[[steps]]\ndevice = "door-in"\naction = "drop"\nspeed = 3', "steps.0.speed"),
        ("[[steps]\n", "cannot read"),
    ],
)
def test_bad_files_name_the_step_and_key(tmp_path: Path, text: str, error: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError, match=r"bad\.toml") as exc:
        load_scenario(path)
    assert error in str(exc.value)


@pytest.mark.parametrize(
    ("step", "error"),
    [
        ('device = "door-9"\naction = "drop"', "no simulated device 'door-9'"),
        ('device = "door-in"\naction = "walk"\ncount = 1', "walk needs an rfid_gate"),
        ('device = "door-in"\naction = "event"\nname = "scan"', "has no event 'scan'"),
        (
            'device = "door-in"\naction = "event"\nname = "passage"\ndirection = "up"',
            "direction",
        ),
    ],
)
def test_steps_are_checked_against_the_devices(tmp_path: Path, step: str, error: str) -> None:
    path = tmp_path / "s.toml"
    path.write_text(f"[[steps]]\n{step}\n")
    with pytest.raises(ScenarioError, match=r"steps\[0\]") as exc:
        load_scenario(path).check(demo_sims())
    assert error in str(exc.value)


def test_an_unknown_scenario_lists_the_built_in_ones() -> None:
    with pytest.raises(ScenarioError, match="shopper"):
        load_scenario("no-such-scenario")


async def test_play_runs_the_steps_in_time_order(
    tmp_path: Path, broker: Broker, watcher: Watcher
) -> None:
    path = tmp_path / "s.toml"
    path.write_text(
        """
[[steps]]
at = 0.3
device = "door-in"
action = "event"
name = "passage"
direction = "out"

[[steps]]
at = 0.1
device = "door-in"
action = "event"
name = "passage"
fields = { direction = "in" }

[[steps]]
at = 0.2
device = "door-in"
action = "set"
reply_delay = 0.5
"""
    )
    sims = demo_sims(broker.endpoint)
    door = sims["door-in"]
    async with door:
        await play(load_scenario(path), sims)
        assert door.reply_delay == 0.5
    got = await watcher.wait_for(lambda ms: len(watcher.on("door-in/event/passage")) == 2)
    assert [m.body["direction"] for m in got if "/event/" in m.topic] == ["in", "out"]


async def test_a_failing_step_stops_the_scenario(tmp_path: Path, broker: Broker) -> None:
    path = tmp_path / "s.toml"
    path.write_text('[[steps]]\ndevice = "door-in"\naction = "resend"\n')
    sims = demo_sims(broker.endpoint)
    async with sims["door-in"]:
        with pytest.raises(ScenarioError, match=r"step 0 at 0s \(resend on door-in\) failed"):
            await play(load_scenario(path), sims)


def test_the_example_in_the_docs_is_valid(tmp_path: Path) -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "simulators.md").read_text()
    example = text.split("```toml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "example.toml"
    path.write_text(example)
    scenario = load_scenario(path)
    scenario.check(demo_sims())
    assert [s.action for s in scenario.steps] == ["event", "event", "walk", "drop", "reconnect"]
