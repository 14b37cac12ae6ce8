"""Safe templates for action fields: ``"Fridge {device} at {payload.celsius:.1f} °C"``.

A placeholder is ``{dotted.path}`` or ``{dotted.path:spec}`` with a format spec
(``.1f``, ``>8``, ``,``); ``{{`` and ``}}`` are literal braces.  Unlike
``str.format`` there is no attribute access, indexing or call: a path walks
dict keys of the context only, so a template cannot reach Python objects.

A template that is exactly one placeholder without a spec yields the value
itself, not its text: ``args = { seconds = "{payload.seconds}" }`` sends a
number.  A missing value renders as ``?`` inside text and as ``None`` alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from rules.errors import ExprError

_PART = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*")
_ABSENT = object()

Render = Callable[[Mapping[str, Any]], Any]


def _lookup(vars: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = vars
    for key in path:
        if isinstance(value, Mapping):
            value = value.get(key, _ABSENT)
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            return _ABSENT
        if value is _ABSENT:
            return _ABSENT
    return value


def _text(value: Any, spec: str) -> str:
    if value is _ABSENT:
        return "?"
    if spec:
        try:
            return format(value, spec)
        except (ValueError, TypeError):
            pass  # a spec that does not fit the value (".1f" of a string): plain text
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Template:
    """A parsed template; :meth:`render` fills it from the context variables."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.names: set[str] = set()
        pieces: list[str | tuple[tuple[str, ...], str]] = []
        pos = 0
        for m in _PART.finditer(source):
            if m.start() > pos:
                pieces.append(source[pos : m.start()])
            pos = m.end()
            token = m.group(0)
            if token in ("{{", "}}"):
                pieces.append(token[0])
                continue
            if m.group(1) is None:
                raise ExprError(
                    f"unmatched {token!r} at column {m.start() + 1} "
                    "(write {{ or }} for a literal brace)"
                )
            path, _, spec = m.group(1).partition(":")
            path = path.strip()
            if not _PATH.fullmatch(path):
                raise ExprError(
                    f"bad placeholder {{{m.group(1)}}} at column {m.start() + 1}: "
                    "use {name}, {name.field} or {name:spec}"
                )
            keys = tuple(path.split("."))
            self.names.add(keys[0])
            pieces.append((keys, spec))
        if pos < len(source):
            pieces.append(source[pos:])
        self._pieces = pieces
        self._whole = pieces[0] if len(pieces) == 1 and isinstance(pieces[0], tuple) else None

    @property
    def is_static(self) -> bool:
        return not self.names

    def render(self, vars: Mapping[str, Any]) -> Any:
        whole = self._whole
        if whole is not None and not whole[1]:
            value = _lookup(vars, whole[0])
            return None if value is _ABSENT else value
        return "".join(
            p if isinstance(p, str) else _text(_lookup(vars, p[0]), p[1]) for p in self._pieces
        )

    def text(self, vars: Mapping[str, Any]) -> str:
        """Always a string (titles, keys, device ids)."""
        value = self.render(vars)
        return value if isinstance(value, str) else _text(value, "")


def template(field: str, source: str) -> Template:
    """A template for a model field; a bad one is an error naming the field."""
    try:
        return Template(source)
    except ExprError as exc:
        raise ExprError(f"{field}: {exc}") from None


def compile_value(value: Any) -> tuple[Render, set[str]]:
    """A JSON-ish value whose strings are templates (command args, webhook bodies,
    alert data) → a function of the context, and the names it reads."""
    names: set[str] = set()

    def build(v: Any) -> Render:
        if isinstance(v, str):
            t = Template(v)
            names.update(t.names)
            return t.render if t.names or "{" in v or "}" in v else _constant(v)
        if isinstance(v, dict):
            parts = {k: build(x) for k, x in v.items()}
            return lambda vars: {k: f(vars) for k, f in parts.items()}
        if isinstance(v, list):
            items = [build(x) for x in v]
            return lambda vars: [f(vars) for f in items]
        return _constant(v)

    return build(value), names


def _constant(value: Any) -> Render:
    def render(vars: Mapping[str, Any]) -> Any:
        return value

    return render
