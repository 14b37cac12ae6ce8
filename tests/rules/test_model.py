"""Rule files: every error names the file, the rule and the field; the set is checked
as a whole (unique names, run_rule targets, loops); valid rules survive a bad neighbour."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

import pytest

from rules.conditions import Condition, register_condition
from rules.core import Evaluator
from rules.model import load_files, load_path, parse_rules
from rules.scope import MemoryStore, Scope
from rules.triggers import Occurrence

F = Path("store/rules/test.toml")

GOOD_ACTIONS = 'actions = [{ type = "alert", kind = "k", title = "t" }]'
EV = 'trigger = { type = "event" }\n'


def rule(body: str, name: str = "r") -> str:
    return f'[[rules]]\nname = "{name}"\n{body}\n'


def errors_of(text: str) -> list[str]:
    return parse_rules(text, F)[1]


@pytest.mark.parametrize(
    ("body", "where", "fragment"),
    [
        (
            'trigger = { type = "event", nme = "help" }\n' + GOOD_ACTIONS,
            "trigger.nme",
            "Extra inputs are not permitted",
        ),
        ('trigger = { type = "telepathy" }\n' + GOOD_ACTIONS, "trigger", "'telepathy'"),
        (GOOD_ACTIONS, "trigger", "Field required"),
        (EV + "actions = []", "actions", "at least 1 item"),
        (
            EV + 'conditions = [{ type = "expr", expr = "payload.x >> 2" }]\n' + GOOD_ACTIONS,
            "conditions[0].expr",
            "column 12",
        ),
        (
            EV + 'conditions = [{ type = "expr", expr = "nosuch(1)" }]\n' + GOOD_ACTIONS,
            "conditions[0].expr",
            "unknown function nosuch()",
        ),
        (
            EV + 'conditions = [{ type = "any", conditions = ['
            '{ type = "compare", field = "x", op = "~", value = 1 }] }]\n' + GOOD_ACTIONS,
            "conditions[0].conditions[0].op",
            "Input should be",
        ),
        (
            EV + 'conditions = [{ type = "time", after = "25:00" }]\n' + GOOD_ACTIONS,
            "conditions[0].after",
            "not a time of day",
        ),
        (
            EV + 'for = "10 parsecs"\n' + GOOD_ACTIONS,
            "for",
            "not a duration",
        ),
        (
            EV + 'for = "1m"\ndebounce = "1s"\n' + GOOD_ACTIONS,
            "for",
            "use one of for / debounce / count",
        ),
        (
            'trigger = { type = "schedule", every = "1m" }\nfor = "1m"\n' + GOOD_ACTIONS,
            "for",
            "has no state to wait on",
        ),
        (
            'trigger = { type = "schedule", every = "1m", cron = "* * * * *" }\n' + GOOD_ACTIONS,
            "trigger",
            "exactly one of 'every' or 'cron'",
        ),
        (
            'trigger = { type = "schedule", cron = "61 * * * *" }\n' + GOOD_ACTIONS,
            "trigger",
            "outside 0-59",
        ),
        (
            EV + 'mode = "sometimes"\n' + GOOD_ACTIONS,
            "mode",
            "'single', 'restart', 'queued' or 'parallel'",
        ),
        (
            EV + 'actions = [{ type = "alert", kind = "k", title = "{x" }]',
            "actions[0].title",
            "unmatched '{'",
        ),
        (
            EV + 'actions = [{ type = "alert", kind = "k", title = "{devce}" }]',
            "actions[0]",
            "unknown name 'devce'",
        ),
        (
            'trigger = { type = "flag", name = "x" }\n'
            'conditions = [{ type = "expr", expr = "payload.x" }]\n' + GOOD_ACTIONS,
            "conditions[0]",
            "unknown name 'payload' (the flag trigger gives:",
        ),
        (
            EV + 'actions = [{ type = "command", kind = "door", name = "open",'
            " args = { seconds = 0 } }]",
            "actions[0].args",
            "seconds: Input should be greater",
        ),
        (
            EV + 'actions = [{ type = "command", kind = "door", name = "fly" }]',
            "actions[0].args",
            "unknown command 'fly'",
        ),
        (
            EV + 'actions = [{ type = "command", kind = "toaster", name = "x" }]',
            "actions[0].kind",
            "unknown device kind 'toaster'",
        ),
        (
            EV + 'actions = [{ type = "webhook", url = "ftp://x" }]',
            "actions[0]",
            "url must start with http:// or https://",
        ),
        (
            EV + 'actions = [{ type = "webhook", url = "http://x", retries = 99 }]',
            "actions[0].retries",
            "less than or equal to 10",
        ),
        (
            EV + 'actions = [{ type = "resolve" }]',
            "actions[0]",
            "resolve needs 'kind'",
        ),
        (
            EV + 'actions = [{ type = "flag", name = "Bad Name" }]',
            "actions[0].name",
            "String should match pattern",
        ),
    ],
)
def test_errors_name_file_rule_and_field(body: str, where: str, fragment: str) -> None:
    [error] = errors_of(rule(body, name="fridge_too_warm"))
    assert error.startswith(f"{F}: rule 'fridge_too_warm': {where}: "), error
    assert fragment in error


def test_a_rule_without_a_name_is_numbered() -> None:
    [error] = errors_of(
        rule(EV + "" + GOOD_ACTIONS) + '[[rules]]\ntrigger = { type = "event" }\n' + GOOD_ACTIONS
    )
    assert error.startswith(f"{F}: rule #2: name: Field required")


def test_file_level_errors() -> None:
    assert errors_of("[[rules]\n")[0].startswith(f"{F}: not valid TOML: ")
    assert errors_of("rule = []\n") == [
        f"{F}: rule: unknown top-level key (a rule file holds [[rules]] tables)"
    ]
    assert errors_of('rules = "x"\n') == [f"{F}: rules: must be an array of tables ([[rules]])"]


def test_every_error_is_reported_and_valid_rules_survive() -> None:
    text = rule(EV + "" + GOOD_ACTIONS, name="good") + rule(
        'trigger = { type = "event", x = 1 }\nmode = "x"\n' + GOOD_ACTIONS, name="bad"
    )
    found, errors = parse_rules(text, F)
    assert [r.name for r in found] == ["good"]
    assert len(errors) == 2 and all("rule 'bad'" in e for e in errors)


def test_the_set_is_checked_across_files(tmp_path: Path) -> None:
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    a.write_text(
        rule(EV + "" + GOOD_ACTIONS, name="dup")
        + rule(
            'trigger = { type = "manual" }\nactions = [{ type = "run_rule", rule = "ping" }]',
            name="pong",
        )
        + rule(
            'trigger = { type = "manual" }\nactions = [{ type = "run_rule", rule = "nowhere" }]',
            name="lost",
        )
    )
    b.write_text(
        rule(EV + "" + GOOD_ACTIONS, name="dup")
        + rule(
            'trigger = { type = "manual" }\nactions = [{ type = "run_rule", rule = "pong" }]',
            name="ping",
        )
    )
    result = load_files([a, b])
    assert not result.ok
    assert f"{b}: rule 'dup': name: already defined in {a}" in result.errors
    assert f"{a}: rule 'lost': actions[0].rule: no rule named 'nowhere'" in result.errors
    assert f"{a}: rule 'pong': actions[0].rule: run_rule loop pong → ping → pong" in result.errors
    assert {lr.rule.name for lr in result.rules} == {"dup"}
    assert result.rules[0].file == a


def test_missing_directory_is_an_empty_set_and_missing_file_an_error(tmp_path: Path) -> None:
    assert load_path(tmp_path / "rules").ok and load_path(tmp_path / "rules").rules == []
    assert load_path(tmp_path / "x.toml").errors == [f"{tmp_path / 'x.toml'}: file not found"]


class MemberTier(Condition):
    """What the members issue will add: a condition kind from outside rules/."""

    type: Literal["member_tier"]
    tiers: list[str]
    tiers_of: ClassVar[dict[str, str]] = {"m-1": "gold"}

    def check(self, scope: Scope) -> bool:
        member = scope.vars.get("payload", {}).get("member")
        return self.tiers_of.get(member, "") in self.tiers


def test_condition_kinds_are_pluggable() -> None:
    text = rule(
        'trigger = { type = "event", name = "arrived" }\n'
        'conditions = [{ type = "not", conditions = [\n'
        '  { type = "member_tier", tiers = ["gold"] }] }]\n' + GOOD_ACTIONS,
        name="vip",
    )
    assert "'member_tier'" in errors_of(text)[0]  # not known yet
    register_condition(MemberTier)
    found, errors = parse_rules(text, F)
    assert errors == []
    assert "tiers: Field required" in errors_of(text.replace(', tiers = ["gold"]', ""))[0]
    core = Evaluator(MemoryStore())
    from rules.model import LoadedRule

    core.load([LoadedRule(found[0], F)])

    def arrive(member: str) -> Any:
        return core.handle(
            Occurrence(
                "event", "plate-cam", {"name": "arrived", "payload": {"member": member}}, "arrived"
            )
        )

    assert arrive("m-1") == [] and len(arrive("m-2")) == 1
