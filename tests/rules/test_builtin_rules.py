"""The rule files shipped in configs/rules: valid, and each does what it says."""

from __future__ import annotations

from typing import Any

import pytest

from rules.core import Evaluator
from rules.dryrun import explain, occurrence_from_json
from rules.model import load_path
from rules.scope import DeviceInfo, MemoryStore
from rules.triggers import Occurrence
from tests.conftest import REPO
from tests.rules.test_engine_core import Clock

SHIPPED = load_path(REPO / "configs" / "rules")
BY_NAME = {lr.rule.name: lr for lr in SHIPPED.rules}


def store(clock: Clock | None = None) -> MemoryStore:
    s = MemoryStore(clock=clock or Clock())
    s.add(
        DeviceInfo("fridge-1", "sensor", "dairy", "fridge"),
        DeviceInfo("freezer-1", "sensor", "frozen", "freezer"),
        DeviceInfo("queue-1", "sensor", "checkout", "queue"),
        DeviceInfo("door-in", "door", "entrance", "entry"),
        DeviceInfo("door-out", "door", "exit", "exit"),
        DeviceInfo("kiosk-1", "kiosk", "checkout"),
        DeviceInfo("label-1", "esl_ap", "aisle-1", may_sleep=True),
    )
    return s


def test_shipped_rules_are_valid() -> None:
    assert SHIPPED.errors == []
    assert {
        "device_offline_escalation",
        "device_flapping",
        "kiosk_help",
        "kiosk_queue",
        "low_stock",
        "fridge_too_warm",
        "freezer_too_warm",
        "door_forced_open",
        "emergency_release",
        "emergency_lifted",
    } <= set(BY_NAME)


@pytest.mark.parametrize(
    ("rule", "event", "verdict", "steps"),
    [
        (
            "kiosk_help",
            {"device": "kiosk-1", "name": "help"},
            "would fire now",
            [
                "alert warning help_request: 'Help requested at kiosk-1' "
                "device=kiosk-1 zone=checkout"
            ],
        ),
        (
            "door_forced_open",
            {"device": "door-out", "name": "forced"},
            "would fire now",
            ["alert critical door_forced: 'Door door-out was forced open'"],
        ),
        (
            "fridge_too_warm",
            {"device": "fridge-1", "name": "temperature", "payload": {"celsius": 8.5}},
            "would fire after 10 min",
            ["alert critical temperature_excursion: 'Fridge fridge-1 at 8.5 °C for 10 minutes"],
        ),
        (
            "freezer_too_warm",
            {"device": "freezer-1", "name": "temperature", "payload": {"celsius": -12}},
            "would fire after 10 min",
            ["alert critical temperature_excursion: 'Freezer freezer-1 at -12.0 °C"],
        ),
        (
            "temperature_back_in_range",
            {"device": "freezer-1", "name": "temperature", "payload": {"celsius": -19}},
            "would fire now",
            ["resolve alert temperature_excursion:freezer-1:frozen (notify 'freezer-1 is back"],
        ),
        (
            "kiosk_queue",
            {"device": "queue-1", "name": "queue", "payload": {"count": 5}},
            "would fire after 1 min",
            ["alert warning queue: '5 shoppers waiting at the checkout — open a till"],
        ),
        (
            "kiosk_queue_cleared",
            {"device": "queue-1", "name": "queue", "payload": {"count": 1}},
            "would fire now",
            ["resolve alert queue:queue-1:checkout"],
        ),
        (
            "low_stock",
            {"item": "milk-1l", "zone": "dairy", "level": 2, "safe": 5},
            "would fire now",
            [
                "alert warning low_stock: 'Low stock: milk-1l in dairy — 2 left (safe stock 5)' "
                "device=None zone=dairy key=low_stock:milk-1l:dairy"
            ],
        ),
        (
            "stock_replenished",
            {"item": "milk-1l", "zone": "dairy", "level": 20, "safe": 5},
            "would fire now",
            ["resolve alert low_stock:milk-1l:dairy"],
        ),
        (
            "device_offline_escalation",
            {"device": "door-in", "online": False},
            "would fire after 5 min",
            ["alert critical device_offline_long: 'door door-in has been offline for 5 minutes'"],
        ),
        (
            "device_offline_escalation_clear",
            {"device": "door-in", "online": True},
            "would fire now",
            ["resolve alert device_offline_long:door-in:entrance"],
        ),
        (
            "emergency_release",
            {"flag": "emergency", "value": True, "by": "api:anna"},
            "would fire now",
            [
                'command release → door-in {"reason": "emergency (set by api:anna)"}',
                "command release → door-out",
                "alert critical emergency:",
            ],
        ),
        (
            "emergency_lifted",
            {"flag": "emergency", "value": False},
            "would fire now",
            [
                "command lock → door-in {}",
                "command lock → door-out {}",
                "resolve alert emergency:: (notify 'Emergency over: doors locked again')",
            ],
        ),
    ],
)
def test_each_shipped_rule_fires_on_its_event(
    rule: str, event: dict[str, Any], verdict: str, steps: list[str]
) -> None:
    s = store()
    lr = BY_NAME[rule]
    run = explain(lr, occurrence_from_json(event, lr.rule.trigger.source, s), s)
    assert run.fires and run.verdict.startswith(verdict), run
    assert len(run.steps) == len(steps)
    for got, want in zip(run.steps, steps, strict=True):
        assert got.startswith(want), got


@pytest.mark.parametrize(
    ("rule", "event"),
    [
        (
            "fridge_too_warm",
            {"device": "fridge-1", "name": "temperature", "payload": {"celsius": 7.9}},
        ),
        (
            "fridge_too_warm",
            {"device": "freezer-1", "name": "temperature", "payload": {"celsius": 9}},
        ),  # a freezer is not a fridge
        ("kiosk_queue", {"device": "queue-1", "name": "queue", "payload": {"count": 3}}),
        ("low_stock", {"item": "milk-1l", "zone": "dairy", "level": 2}),  # no safe stock set
        ("device_offline_escalation", {"device": "label-1", "online": False}),  # may sleep
        ("door_forced_open", {"device": "door-in", "name": "door", "payload": {"open": True}}),
    ],
)
def test_shipped_rules_stay_quiet_otherwise(rule: str, event: dict[str, Any]) -> None:
    s = store()
    lr = BY_NAME[rule]
    run = explain(lr, occurrence_from_json(event, lr.rule.trigger.source, s), s)
    assert not run.fires, run


def shipped_core(clock: Clock) -> Evaluator:
    core = Evaluator(store(clock), clock=clock, store_id="s1")
    core.load(SHIPPED.rules)
    return core


def presence(device: str, online: bool) -> Occurrence:
    return Occurrence(
        "presence",
        device,
        {
            "device": device,
            "kind": "door",
            "zone": "entrance",
            "online": online,
            "may_sleep": False,
        },
    )


def test_flapping_device_is_reported_once_in_half_an_hour() -> None:
    clock = Clock()
    core = shipped_core(clock)
    fired: list[str] = []
    for _ in range(6):  # six drop-outs, one a minute
        fired += [f.rule.name for f in core.handle(presence("door-in", False))]
        clock.advance(30)
        core.handle(presence("door-in", True))
        clock.advance(30)
    assert fired.count("device_flapping") == 1
    clock.advance(300)
    assert "device_offline_escalation" not in [f.rule.name for f in core.due()]


def test_offline_for_five_minutes_escalates() -> None:
    clock = Clock()
    core = shipped_core(clock)
    core.handle(presence("door-in", False))
    clock.advance(299)
    assert core.due() == []
    clock.advance(1)
    assert [f.rule.name for f in core.due()] == ["device_offline_escalation"]
