"""Rule files: the :class:`Rule` model and loading ``configs/rules/*.toml`` with clear errors.

    [[rules]]
    name = "fridge_too_warm"
    trigger = { type = "event", kind = "sensor", name = "temperature" }
    conditions = [{ type = "expr", expr = "role == 'fridge' and payload.celsius > 8" }]
    for = "10m"
    [[rules.actions]]
    type = "alert"
    kind = "temperature_excursion"
    severity = "critical"
    title = "Fridge {device} at {payload.celsius:.1f} °C for 10 minutes"

Every problem is reported as ``FILE: rule 'NAME': FIELD: message`` — all of them,
not just the first — and a file's valid rules are still returned, so that a
typo in one rule does not silence the others when the hub starts.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from rules.actions import AnyAction, RunRuleAction
from rules.conditions import AnyCondition, discover, holds_conditions
from rules.errors import RuleFileError
from rules.schedule import Duration
from rules.template import Template
from rules.triggers import COMMON_VARS, AnyTrigger

RULE_NAME = r"^[a-z0-9][a-z0-9_-]{0,62}$"
Mode = Literal["single", "restart", "queued", "parallel"]


class CountWindow(BaseModel):
    """Fire when the trigger held at least ``at_least`` times within ``within``
    (a flapping device, a help button pressed again and again)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    at_least: int = Field(ge=2, le=10_000)
    within: Duration = Field(gt=0)


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, defer_build=True)

    name: str = Field(pattern=RULE_NAME)
    description: str = ""
    enabled: bool = True
    trigger: AnyTrigger
    conditions: list[AnyCondition] = Field(default_factory=list)
    #: Fire only once trigger and conditions have held this long without a break.
    for_: Duration | None = Field(default=None, alias="for", gt=0)
    #: Fire once things have been quiet this long, with the last occurrence's context.
    debounce: Duration | None = Field(default=None, gt=0)
    #: Fire at most once per this window (per key); later firings are dropped.
    throttle: Duration | None = Field(default=None, gt=0)
    count: CountWindow | None = None
    #: What for/debounce/throttle/count track separately (a template); default the
    #: occurrence's subject: the device, the flag, the item@zone.
    key: str | None = None
    mode: Mode = "single"
    #: Most runs queued or running (``queued``), or running at once (``parallel``).
    max: int = Field(default=10, ge=1, le=10_000)
    actions: list[AnyAction] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Rule:
        timing = [
            n
            for n in ("for", "debounce", "count")
            if getattr(self, "for_" if n == "for" else n) is not None
        ]
        if len(timing) > 1:
            raise ValueError(
                f"{timing[0]}: use one of for / debounce / count, not {' and '.join(timing)}"
            )
        if timing and self.trigger.type in ("schedule", "manual"):
            raise ValueError(f"{timing[0]}: a {self.trigger.type} trigger has no state to wait on")
        allowed = self.trigger.vars
        if allowed is None:  # manual: the caller's context, whatever it is
            return self
        allowed = allowed | COMMON_VARS
        used: list[tuple[str, set[str]]] = [
            (f"conditions[{i}]", c.names()) for i, c in enumerate(self.conditions)
        ]
        used += [(f"actions[{i}]", a.names()) for i, a in enumerate(self.actions)]
        if self.key is not None:
            used.append(("key", Template(self.key).names))
        for where, names in used:
            unknown = sorted(names - allowed)
            if unknown:
                raise ValueError(
                    f"{where}: unknown name {', '.join(repr(n) for n in unknown)} "
                    f"(the {self.trigger.type} trigger gives: {', '.join(sorted(allowed))})"
                )
        return self


holds_conditions(Rule)
_TOP_LEVEL = {"rules"}


@dataclass(frozen=True, slots=True)
class LoadedRule:
    rule: Rule
    file: Path


@dataclass(slots=True)
class LoadResult:
    rules: list[LoadedRule] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def raise_for_errors(self) -> None:
        if self.errors:
            raise RuleFileError(self.errors)


def _field_path(raw: Any, loc: Iterable[int | str]) -> str:
    """A pydantic location inside one rule → ``conditions[0].expr``, without the union
    tags pydantic puts in (``trigger.event.device`` → ``trigger.device``)."""
    out, node = "", raw
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            node = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
            continue
        if isinstance(node, dict) and part not in node and node.get("type") == part:
            continue
        out += ("." if out else "") + part
        node = node.get(part) if isinstance(node, dict) else None
    return out


_LEADING_FIELD = re.compile(
    r"^([A-Za-z_][A-Za-z0-9_]*(?:\[\d+\])*(?:\.[A-Za-z_][A-Za-z0-9_]*"
    r"(?:\[\d+\])*)*): (.*)$",
    re.DOTALL,
)


def _located(where: str, err: Any) -> tuple[str, str]:
    """Our validators say which field they mean (``title: unmatched '{'``): fold it
    into the location."""
    msg = str(err["msg"]).removeprefix("Value error, ")
    m = _LEADING_FIELD.match(msg)
    if m:
        where = f"{where}.{m.group(1)}" if where else m.group(1)
        msg = m.group(2)
    return where, msg


def parse_rules(text: str, file: Path) -> tuple[list[Rule], list[str]]:
    """One file's text → its valid rules and an error line per problem."""
    discover()
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return [], [f"{file}: not valid TOML: {exc}"]
    errors = [
        f"{file}: {key}: unknown top-level key (a rule file holds [[rules]] tables)"
        for key in raw
        if key not in _TOP_LEVEL
    ]
    entries = raw.get("rules", [])
    if not isinstance(entries, list):
        return [], [*errors, f"{file}: rules: must be an array of tables ([[rules]])"]
    found: list[Rule] = []
    for i, entry in enumerate(entries):
        name = entry.get("name") if isinstance(entry, dict) else None
        label = f"rule {name!r}" if isinstance(name, str) else f"rule #{i + 1}"
        try:
            found.append(Rule.model_validate(entry))
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                where, msg = _located(_field_path(entry, err["loc"]), err)
                errors.append(
                    f"{file}: {label}: {where}: {msg}" if where else f"{file}: {label}: {msg}"
                )
    return found, errors


def load_files(paths: Iterable[Path]) -> LoadResult:
    """Load files and check the set: unique names, ``run_rule`` targets, no loops."""
    result = LoadResult()
    for path in paths:
        result.files.append(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            result.errors.append(f"{path}: cannot read: {exc.strerror or exc}")
            continue
        rules, errors = parse_rules(text, path)
        result.errors += errors
        result.rules += [LoadedRule(r, path) for r in rules]
    _check_set(result)
    return result


def rule_files(path: Path) -> list[Path]:
    """The rule files of a directory (``*.toml``, sorted), or the file itself."""
    if path.is_dir():
        return sorted(p for p in path.glob("*.toml") if p.is_file())
    return [path]


def load_path(path: Path) -> LoadResult:
    """A rules directory (a missing one is an empty rule set) or a single file."""
    if not path.exists():
        if path.suffix:
            return LoadResult(errors=[f"{path}: file not found"])
        return LoadResult()
    return load_files(rule_files(path))


def _check_set(result: LoadResult) -> None:
    seen: dict[str, LoadedRule] = {}
    unique: list[LoadedRule] = []
    for lr in result.rules:
        first = seen.get(lr.rule.name)
        if first is not None:
            result.errors.append(
                f"{lr.file}: rule {lr.rule.name!r}: name: already defined in {first.file}"
            )
            continue
        seen[lr.rule.name] = lr
        unique.append(lr)
    result.rules = unique
    calls = {
        lr.rule.name: [
            (i, a.rule) for i, a in enumerate(lr.rule.actions) if isinstance(a, RunRuleAction)
        ]
        for lr in unique
    }
    bad: set[str] = set()
    for lr in unique:
        for i, target in calls[lr.rule.name]:
            if target not in seen:
                result.errors.append(
                    f"{lr.file}: rule {lr.rule.name!r}: actions[{i}].rule: no rule named {target!r}"
                )
                bad.add(lr.rule.name)
            loop = _loop(lr.rule.name, target, calls)
            if loop:
                result.errors.append(
                    f"{lr.file}: rule {lr.rule.name!r}: actions[{i}].rule: "
                    f"run_rule loop {' → '.join(loop)}"
                )
                bad.add(lr.rule.name)
    result.rules = [lr for lr in unique if lr.rule.name not in bad]


def _loop(start: str, target: str, calls: dict[str, list[tuple[int, str]]]) -> list[str]:
    """The run_rule path from ``target`` back to ``start``, if there is one."""
    stack, seen = [(target, [start, target])], {target}
    while stack:
        name, path = stack.pop()
        if name == start:
            return path
        for _, nxt in calls.get(name, []):
            if nxt == start:
                return [*path, nxt]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*path, nxt]))
    return []
