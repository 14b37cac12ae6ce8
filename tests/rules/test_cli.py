"""``storehub rules check`` and ``storehub rules test`` (the dry run), without a hub."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rules.cli import app
from tests.conftest import DEMO, REPO

RULES = REPO / "configs" / "rules"
STORE = """
[store]
timezone = "Asia/Shanghai"
[[devices]]
id = "fridge-1"
kind = "sensor"
zone = "dairy"
role = "fridge"
[[devices]]
id = "door-in"
kind = "door"
[[devices]]
id = "door-out"
kind = "door"
[[devices]]
id = "kiosk-1"
kind = "kiosk"
zone = "checkout"
"""


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("COLUMNS", "200")  # no wrapped lines to match against
    monkeypatch.delenv("STOREHUB_RULES_DIR", raising=False)
    return CliRunner()


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "store.toml"
    path.write_text(STORE)
    return path


def test_check_the_shipped_rules(runner: CliRunner) -> None:
    result = runner.invoke(app, ["check", "--config", str(DEMO)])
    assert result.exit_code == 0, result.output
    assert "are valid" in result.output and "kiosk_help" in result.output


def test_check_reports_every_error_with_file_rule_and_field(
    runner: CliRunner, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("""
[[rules]]
name = "fridge"
trigger = { type = "event", kind = "sensor", nme = "temperature" }
conditions = [{ type = "expr", expr = "payload.celsius >> 8" }]
actions = [{ type = "alert", kind = "x", title = "t" }]
""")
    result = runner.invoke(app, ["check", str(tmp_path)])
    assert result.exit_code == 1
    assert f"{bad}: rule 'fridge': trigger.nme: Extra inputs are not permitted" in result.output
    assert f"{bad}: rule 'fridge': conditions[0].expr: expected a value" in result.output
    assert "2 error(s)" in result.output


def dry_run(runner: CliRunner, store: Path, rule: str, event: object, *extra: str) -> dict:  # type: ignore[type-arg]
    result = runner.invoke(
        app,
        [
            "test",
            rule,
            "--event",
            json.dumps(event),
            "--config",
            str(store),
            "--rules",
            str(RULES),
            "--json",
            *extra,
        ],
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.output)  # type: ignore[no-any-return]


def test_dry_run_shows_what_would_fire(runner: CliRunner, store: Path) -> None:
    out = dry_run(
        runner,
        store,
        "fridge_too_warm",
        {"device": "fridge-1", "name": "temperature", "payload": {"celsius": 9.25}},
    )
    assert out["fires"] is True
    assert out["verdict"] == "would fire after 10 min if it still holds then"
    assert out["conditions"] == [
        {"condition": "expr role == 'fridge' and payload.celsius > 8", "holds": True, "error": None}
    ]
    [step] = out["steps"]
    assert step.startswith("alert critical temperature_excursion: 'Fridge fridge-1 at 9.2 °C")
    cold = dry_run(
        runner,
        store,
        "fridge_too_warm",
        {"device": "fridge-1", "name": "temperature", "payload": {"celsius": 4}},
    )
    assert cold["fires"] is False and cold["steps"] == []
    assert cold["verdict"] == "does not fire: a condition does not hold"


def test_dry_run_expands_device_patterns(runner: CliRunner, store: Path) -> None:
    out = dry_run(
        runner, store, "emergency_release", {"flag": "emergency", "value": True, "by": "anna"}
    )
    assert out["steps"][:2] == [
        'command release → door-in {"reason": "emergency (set by anna)"}',
        'command release → door-out {"reason": "emergency (set by anna)"}',
    ]
    off = dry_run(runner, store, "emergency_release", {"flag": "emergency", "value": False})
    assert off["fires"] is False and "state does not hold" in off["verdict"]


def test_dry_run_uses_given_store_state(runner: CliRunner, store: Path, tmp_path: Path) -> None:
    rules = tmp_path / "r.toml"
    rules.write_text("""
[[rules]]
name = "help_if_door_down"
trigger = { type = "event", kind = "kiosk", name = "help" }
conditions = [{ type = "presence", device = "door-in", online = false }]
actions = [{ type = "alert", kind = "x", title = "{device}" }]
""")
    event = json.dumps({"device": "kiosk-1", "name": "help"})
    base = [
        "test",
        "help_if_door_down",
        "--event",
        event,
        "-c",
        str(store),
        "--rules",
        str(rules),
        "--json",
    ]
    assert json.loads(runner.invoke(app, base).output)["fires"] is False
    down = runner.invoke(app, [*base, "--state", '{"online": {"door-in": false}}'])
    assert json.loads(down.output)["fires"] is True


def test_dry_run_errors(runner: CliRunner, store: Path) -> None:
    def run(*args: str) -> str:
        result = runner.invoke(app, ["test", *args, "-c", str(store), "--rules", str(RULES)])
        assert result.exit_code == 2
        return result.output

    assert "no valid rule named 'nope'" in run("nope", "--event", "{}")
    assert "the hub would reject this sensor event: invalid: celsius: Field required" in run(
        "fridge_too_warm",
        "--event",
        '{"device": "fridge-1", "name": "temperature", "payload": {"celsus": 9}}',
    )
    assert "not in the store config" in run(
        "kiosk_help", "--event", '{"device": "ghost", "name": "help"}'
    )
    assert "error:" in run("kiosk_help", "--event", "not json")


def test_human_output(runner: CliRunner, store: Path) -> None:
    result = runner.invoke(
        app,
        [
            "test",
            "kiosk_help",
            "--event",
            '{"device": "kiosk-1", "name": "help"}',
            "-c",
            str(store),
            "--rules",
            str(RULES),
        ],
    )
    assert result.exit_code == 0
    assert "dry run, nothing is sent" in result.output
    assert "would fire now (parallel mode)" in result.output
    assert "1. alert warning help_request: 'Help requested at kiosk-1'" in result.output
