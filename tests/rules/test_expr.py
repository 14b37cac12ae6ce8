"""The safe expression language, templates, durations and cron."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hub.inventory import StockLevel
from rules.errors import ExprError
from rules.expr import Expression
from rules.functions import register_function
from rules.schedule import Cron, parse_duration
from rules.scope import MISSING, MemoryStore, Scope
from rules.template import Template, compile_value

VARS: dict[str, Any] = {
    "device": "fridge-1",
    "role": "fridge",
    "zone": "dairy",
    "payload": {"celsius": 9.5, "count": 4, "reads": [{"epc": "30a"}], "ok": True, "none": None},
    "tags": ["a", "b"],
}


def scope(**extra: Any) -> Scope:
    store = MemoryStore(clock=lambda: 1_700_000_000.0, timezone=ZoneInfo("Asia/Shanghai"))
    store.presence["door-in"] = True
    store.flags["emergency"] = True
    store.levels[("milk", "dairy")] = StockLevel(item="milk", zone="dairy", qty=3, safe=5)
    return Scope({**VARS, **extra}, store)


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ("payload.celsius > 8", True),
        ("payload.celsius > 8 and role == 'fridge'", True),
        ('payload.celsius > 8 and role == "freezer"', False),
        ("role == 'freezer' or payload.count >= 4", True),
        ("not (payload.count < 4)", True),
        ("payload.celsius - 8 >= 1.5", True),
        ("payload.count * 2 + 1", 9),
        ("payload.count % 3", 1),
        ("-payload.celsius < -9", True),
        ("payload.reads[0].epc == '30a'", True),
        ("payload['celsius']", 9.5),
        ("tags[-1]", "b"),
        ("'a' in tags and 'z' not in tags", True),
        ("zone in ['dairy', 'frozen']", True),
        ("payload.ok == true and payload.none == null", True),
        ("payload.missing > 1", False),
        ("payload.missing < 1", False),
        ("payload.missing == 1", False),
        ("payload.missing != 1", True),
        ("payload.missing.deeper == 1", False),
        ("tags[9] == 'a'", False),
        ("device.upper == 1", False),  # no attributes of Python objects
        ("len(tags) == 2 and abs(-2) == 2 and max(1, 5, 3) == 5 and round(9.46, 1) == 9.5", True),
        (
            "lower('AB') == 'ab' and startswith(device, 'fridge') and matches(device, 'fridge-?')",
            True,
        ),
        ("online('door-in') and not online('door-out')", True),
        ("flag('emergency') == true and flag('nothing') == null", True),
        ("stock('milk', 'dairy') < safe_stock('milk', 'dairy')", True),
        ("stock('bread', 'bakery') < 1", False),
        ("hour() == 6 and minute() == 13 and weekday() == 'wed'", True),  # Shanghai time
        ("1e3 == 1000 and .5 == 0.5", True),
        ("'it\\'s' == \"it's\"", True),
    ],
)
def test_evaluates(source: str, value: Any) -> None:
    assert Expression(source).evaluate(scope()) == value


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("", "empty expression"),
        ("payload.celsius >", "expected a value at the end"),
        ("a b", "unexpected token, found 'b' at column 3"),
        ("a && b", "unexpected character '&' at column 3"),
        ("(a", "expected ')'"),
        ("f(1)", "unknown function f()"),
        ("len(", "expected a value at the end"),
        ("len(1, 2)", "len() takes 1..1 arguments, got 2"),
        ("__import__('os')", "unknown function __import__()"),
        ("a.", "expected a field name after '.'"),
        ("and", "expected a value, found 'and'"),
    ],
)
def test_rejects(source: str, message: str) -> None:
    with pytest.raises(ExprError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Expression(source)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("payload.celsius > 'x'", "cannot compare a number > a string"),
        ("device - 1", "a string - a number"),
        ("payload.count / 0", "division by zero"),
        ("1 in 2", "cannot test a number in a number"),
        ("payload.ok + 1", "cannot use \\+ on a boolean"),
    ],
)
def test_type_errors_raise_at_evaluation(source: str, message: str) -> None:
    with pytest.raises(ExprError, match=message):
        Expression(source).evaluate(scope())


def test_names_and_missing() -> None:
    e = Expression("payload.celsius > limit and online(device)")
    assert e.names == {"payload", "limit", "device"}
    assert e.evaluate(scope()) is False  # limit is missing
    assert Expression("nothing").evaluate(scope()) is MISSING
    assert not Expression("nothing").test(scope())


def test_plugins_register_functions() -> None:
    register_function("tier", lambda s, member: {"m-1": "gold"}.get(member, "none"), range(1, 2))
    assert Expression("tier('m-1') == 'gold'").evaluate(scope())
    with pytest.raises(ValueError, match="bad function name"):
        register_function("and", lambda s: 1, range(0, 1))


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ("Fridge {device} at {payload.celsius:.1f} °C", "Fridge fridge-1 at 9.5 °C"),
        ("{payload.celsius}", 9.5),  # a lone placeholder keeps its type
        ("{payload.reads.0.epc}", "30a"),
        ("{payload.missing}", None),
        ("x={payload.missing}", "x=?"),
        ("{payload.ok} {payload.none}", "true null"),
        ("{{literal}} {device:>10}", "{literal}   fridge-1"),
        ("{device:.2f}", "fridge-1"),  # a spec that does not fit: plain text
        ("no placeholders", "no placeholders"),
    ],
)
def test_templates(source: str, value: Any) -> None:
    assert Template(source).render(scope().vars) == value


@pytest.mark.parametrize("source", ["{x", "x}", "{a b}", "{device.__class__()}", "{0}", "{}"])
def test_bad_templates(source: str) -> None:
    with pytest.raises(ExprError):
        Template(source)


def test_template_cannot_reach_python_objects() -> None:
    class Secret:
        password = "hunter2"

    assert Template("{obj.password}").render({"obj": Secret()}) is None


def test_compile_value_renders_nested_structures() -> None:
    render, names = compile_value({"a": "{device}", "b": [1, "{payload.count}"], "c": "{{x}}"})
    assert names == {"device", "payload"}
    assert render(VARS) == {"a": "fridge-1", "b": [1, 4], "c": "{x}"}


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (30, 30.0),
        (1.5, 1.5),
        ("500ms", 0.5),
        ("30s", 30.0),
        ("10m", 600.0),
        ("1h30m", 5400.0),
        ("2d", 172800.0),
        ("1 h 30 m", 5400.0),
    ],
)
def test_durations(value: Any, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", ["", "10", "ten minutes", "10x", "-5s", True, None, -1])
def test_bad_durations(value: Any) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(value)


SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")


def at(tz: ZoneInfo, year: int, month: int, day: int, hour: int, minute: int) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=tz).timestamp()


@pytest.mark.parametrize(
    ("expr", "after", "expected"),
    [
        ("0 8 * * *", at(SH, 2026, 3, 2, 6, 0), at(SH, 2026, 3, 2, 8, 0)),
        ("0 8 * * *", at(SH, 2026, 3, 2, 8, 0), at(SH, 2026, 3, 3, 8, 0)),
        ("*/15 * * * *", at(SH, 2026, 3, 2, 8, 7), at(SH, 2026, 3, 2, 8, 15)),
        ("30 9 * * mon-fri", at(SH, 2026, 3, 6, 10, 0), at(SH, 2026, 3, 9, 9, 30)),  # Fri → Mon
        ("0 0 29 feb *", at(SH, 2026, 3, 1, 0, 0), at(SH, 2028, 2, 29, 0, 0)),
        ("0 12 1 * sun", at(SH, 2026, 3, 2, 0, 0), at(SH, 2026, 3, 8, 12, 0)),  # dom OR dow
        ("30 2 * * *", at(NY, 2026, 3, 8, 0, 0), at(NY, 2026, 3, 8, 3, 30)),  # DST gap
        ("0 20-22/2 * * 7", at(SH, 2026, 3, 8, 20, 30), at(SH, 2026, 3, 8, 22, 0)),
    ],
)
def test_cron(expr: str, after: float, expected: float) -> None:
    tz = NY if "2 * * *" in expr else SH
    assert Cron(expr).next_after(after, tz) == expected


@pytest.mark.parametrize(
    "expr", ["* * * *", "60 * * * *", "* 24 * * *", "* * * * funday", "*/0 * * * *", "5-1 * * * *"]
)
def test_bad_cron(expr: str) -> None:
    with pytest.raises(ValueError, match="cron"):
        Cron(expr)
