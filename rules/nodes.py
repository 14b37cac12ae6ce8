"""The compiled nodes of expressions: closures over closures, no tree walked at run time.

A comparison or a field access with a literal is specialised (no call for the
literal), since ``device == 'fridge-3'`` and ``payload.celsius`` are what rules
evaluate most.  Missing values (:data:`rules.scope.MISSING`) flow through: equal
to no literal, ordered with nothing; a type mismatch is an :class:`ExprError`.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from rules.errors import ExprError
from rules.scope import MISSING, Scope

Compiled = Callable[[Scope], Any]

_ORDER = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_ARITH = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "%": operator.mod,
}


class Constant:
    """A literal: callable like every compiled node, and recognisable, so that a
    comparison with it can skip a call per evaluation."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __call__(self, s: Scope) -> Any:
        return self.value


def const(value: Any) -> Compiled:
    return Constant(value)


def truthy(value: Any) -> bool:
    return value is not MISSING and bool(value)


def field(obj: Compiled, key: Compiled) -> Compiled:
    if isinstance(key, Constant) and isinstance(key.value, str):
        name = key.value

        def member(s: Scope) -> Any:  # `payload.celsius`: the hot case
            container = obj(s)
            return container.get(name, MISSING) if type(container) is dict else MISSING

        return member

    def run(s: Scope) -> Any:
        container, k = obj(s), key(s)
        if isinstance(container, dict):
            return container.get(k, MISSING)
        if isinstance(container, list | tuple) and isinstance(k, int) and not isinstance(k, bool):
            return container[k] if -len(container) <= k < len(container) else MISSING
        return MISSING

    return run


def compare(op: str, left: Compiled, right: Compiled) -> Compiled:
    if op in ("==", "!=") and isinstance(right, Constant):
        # Missing equals no literal (a plain object compares by identity), so no test.
        c = right.value
        return (lambda s: left(s) == c) if op == "==" else (lambda s: left(s) != c)
    if op in ("==", "!="):
        equal = op == "=="

        def eq(s: Scope) -> bool:
            a, b = left(s), right(s)
            if a is MISSING or b is MISSING:
                return not equal
            return (a == b) is equal

        return eq
    if op in ("in", "not in"):
        inside = op == "in"

        def contains(s: Scope) -> bool:
            a, b = left(s), right(s)
            if a is MISSING or b is MISSING:
                return not inside
            try:
                return (a in b) is inside
            except TypeError:
                raise ExprError(f"cannot test {kind_of(a)} in {kind_of(b)}") from None

        return contains
    fn = _ORDER[op]

    def order(s: Scope) -> bool:
        a, b = left(s), right(s)
        if a is MISSING or b is MISSING or a is None or b is None:
            return False
        try:
            return bool(fn(a, b))
        except TypeError:
            raise ExprError(f"cannot compare {kind_of(a)} {op} {kind_of(b)}") from None

    return order


def arith(op: str, left: Compiled, right: Compiled) -> Compiled:
    fn = _ARITH[op]

    def run(s: Scope) -> Any:
        a, b = left(s), right(s)
        if a is MISSING or b is MISSING:
            return MISSING
        if isinstance(a, bool) or isinstance(b, bool):
            raise ExprError(f"cannot use {op} on a boolean")
        try:
            return fn(a, b)
        except (TypeError, ArithmeticError) as exc:
            raise ExprError(f"{kind_of(a)} {op} {kind_of(b)}: {exc}") from None

    return run


def kind_of(value: Any) -> str:
    names = {
        str: "a string",
        int: "a number",
        float: "a number",
        bool: "a boolean",
        list: "a list",
        dict: "an object",
        type(None): "null",
    }
    return names.get(type(value), type(value).__name__)
