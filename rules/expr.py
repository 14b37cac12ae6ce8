"""A small, safe expression language for rule conditions: parsed here, never ``eval``-ed.

    payload.celsius > 8 and role == "fridge"
    online("door-out") and flag("emergency") != true
    payload.count >= 4 or (zone == "checkout" and not online(device))

Grammar, loosest binding first::

    or    := and ("or" and)*
    and   := not ("and" not)*
    not   := "not" not | cmp
    cmp   := sum [("==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not" "in") sum]
    sum   := term (("+" | "-") term)*
    term  := unary (("*" | "/" | "%") unary)*
    unary := "-" unary | post
    post  := atom ("." NAME | "[" or "]")*
    atom  := NUMBER | STRING | true | false | null | NAME | NAME "(" [or ("," or)*] ")"
           | "(" or ")" | "[" [or ("," or)*] "]"

Names are the rule's context variables (``device``, ``payload``, ...).  A name
or a field that is not there is *missing*: it is equal to nothing and orders
with nothing, so a condition on a field an event lacks is simply false.  Only
dict keys and list indexes can be reached — never attributes of Python objects
— and only the functions of :data:`rules.functions.FUNCTIONS` can be called, so an expression
can read the context and the store view and nothing else.

The parser compiles to nested closures: evaluating costs a few function calls
per node, with no tree walking and no name resolution at run time.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, NoReturn

from rules.errors import ExprError
from rules.functions import FUNCTIONS, KEYWORDS
from rules.nodes import Compiled, Constant, arith, compare, const, field, truthy
from rules.scope import MISSING, Scope

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
    | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<op>==|!=|<=|>=|[<>()\[\],.+\-*/%])
    )""",
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'"}


class Expression:
    """A compiled expression; :meth:`evaluate` returns its value, :meth:`test` its truth."""

    def __init__(self, source: str) -> None:
        self.source = source
        parser = _Parser(source)
        self._fn = parser.parse()
        #: The context variables it reads (checked against the trigger's at load time).
        self.names: frozenset[str] = frozenset(parser.names)
        #: ``(name, literal)`` pairs the whole expression requires to be equal (the
        #: ``device == 'fridge-3'`` of ``device == 'fridge-3' and payload.celsius > 8``).
        self.equalities: list[tuple[str, Any]] = parser._equalities(self._fn)

    def evaluate(self, scope: Scope) -> Any:
        return self._fn(scope)

    def test(self, scope: Scope) -> bool:
        return bool(self._fn(scope))  # missing is falsy

    def tester(self) -> Callable[[Scope], bool]:
        fn = self._fn
        return lambda scope: bool(fn(scope))

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens: list[tuple[str, str, int]] = []  # (kind, text, column)
        self.names: set[str] = set()
        # By id() of a compiled node: a plain variable lookup's name, and the
        # ``name == literal`` terms a node requires. Each entry holds its node, so that
        # no id is reused by another node while parsing.
        self.var_of: dict[int, tuple[Compiled, str]] = {}
        self.equal: dict[int, tuple[Compiled, list[tuple[str, Any]]]] = {}
        pos = 0
        while pos < len(source):
            m = _TOKEN.match(source, pos)
            if m is None or m.end() == pos:
                if source[pos:].strip() == "":
                    break
                col = pos + len(source[pos:]) - len(source[pos:].lstrip()) + 1
                raise ExprError(f"unexpected character {source[col - 1]!r} at column {col}")
            kind = m.lastgroup
            assert kind is not None
            self.tokens.append((kind, m.group(kind), m.start(kind) + 1))
            pos = m.end()
        self.i = 0

    # -- token helpers -----------------------------------------------------------

    def peek(self, text: str | None = None) -> bool:
        if self.i >= len(self.tokens):
            return False
        kind, value, _ = self.tokens[self.i]
        return text is None or (value == text and kind in ("op", "name"))

    def take(self, text: str) -> bool:
        if self.peek(text):
            self.i += 1
            return True
        return False

    def expect(self, text: str) -> None:
        if not self.take(text):
            self.fail(f"expected {text!r}")

    def fail(self, message: str) -> NoReturn:
        if self.i < len(self.tokens):
            _, value, col = self.tokens[self.i]
            raise ExprError(f"{message}, found {value!r} at column {col}")
        raise ExprError(f"{message} at the end of the expression")

    # -- grammar -----------------------------------------------------------------

    def parse(self) -> Compiled:
        if not self.tokens:
            raise ExprError("empty expression")
        fn = self.or_()
        if self.i < len(self.tokens):
            self.fail("unexpected token")
        return fn

    def or_(self) -> Compiled:
        parts = [self.and_()]
        while self.take("or"):
            parts.append(self.and_())
        if len(parts) == 1:
            return parts[0]
        if len(parts) == 2:  # the common case, without a loop: Python's `or` is ours
            first, second = parts
            return lambda s: first(s) or second(s)

        def any_(s: Scope) -> Any:
            value: Any = MISSING
            for part in parts:
                value = part(s)
                if truthy(value):
                    return value
            return value

        return any_

    def and_(self) -> Compiled:
        parts = [self.not_()]
        while self.take("and"):
            parts.append(self.not_())
        if len(parts) == 1:
            return parts[0]
        fn: Compiled
        if len(parts) == 2:  # missing is falsy, so Python's `and` is ours
            first, second = parts
            fn = lambda s: first(s) and second(s)  # noqa: E731
        else:

            def fn(s: Scope) -> Any:
                value: Any = MISSING
                for part in parts:
                    value = part(s)
                    if not truthy(value):
                        return value
                return value

        # Every term of a conjunction must hold: its equalities are the whole one's.
        found = [eq for part in parts for eq in self._equalities(part)]
        if found:
            self.equal[id(fn)] = (fn, found)
        return fn

    def not_(self) -> Compiled:
        if self.take("not"):
            inner = self.not_()
            return lambda s: not truthy(inner(s))
        return self.cmp()

    def cmp(self) -> Compiled:
        left = self.sum()
        for op in ("==", "!=", "<=", ">=", "<", ">", "in"):
            if self.take(op):
                right = self.sum()
                fn = compare(op, left, right)
                if op == "==":
                    self._note_equality(fn, left, right)
                return fn
        if (
            self.peek("not")
            and self.i + 1 < len(self.tokens)
            and self.tokens[self.i + 1][1] == "in"
        ):
            self.i += 2
            return compare("not in", left, self.sum())
        return left

    def sum(self) -> Compiled:
        fn = self.term()
        while self.peek("+") or self.peek("-"):
            op = self.tokens[self.i][1]
            self.i += 1
            fn = arith(op, fn, self.term())
        return fn

    def term(self) -> Compiled:
        fn = self.unary()
        while self.peek("*") or self.peek("/") or self.peek("%"):
            op = self.tokens[self.i][1]
            self.i += 1
            fn = arith(op, fn, self.unary())
        return fn

    def unary(self) -> Compiled:
        if self.take("-"):
            inner = self.unary()
            return arith("-", lambda s: 0, inner)
        return self.post()

    def post(self) -> Compiled:
        fn = self.atom()
        while True:
            if self.take("."):
                if not self.peek() or self.tokens[self.i][0] != "name":
                    self.fail("expected a field name after '.'")
                key = self.tokens[self.i][1]
                self.i += 1
                fn = field(fn, const(key))
            elif self.take("["):
                index = self.or_()
                self.expect("]")
                fn = field(fn, index)
            else:
                return fn

    def atom(self) -> Compiled:
        if self.i >= len(self.tokens):
            self.fail("expected a value")
        kind, text, _ = self.tokens[self.i]
        self.i += 1
        if kind == "num":
            number = float(text) if any(c in text for c in ".eE") else int(text)
            return const(number)
        if kind == "str":
            string = re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), text[1:-1])
            return const(string)
        if kind == "name":
            return self.name(text)
        if text == "(":
            fn = self.or_()
            self.expect(")")
            return fn
        if text == "[":
            items = self.items("]")
            return lambda s: [f(s) for f in items]
        self.i -= 1
        self.fail("expected a value")

    def _note_equality(self, fn: Compiled, left: Compiled, right: Compiled) -> None:
        """Remember ``name == literal``: the engine indexes rules by it."""
        if isinstance(left, Constant):
            left, right = right, left
        var = self.var_of.get(id(left))
        if var is not None and isinstance(right, Constant):
            value = right.value
            if value is None or isinstance(value, str | int | float | bool):
                self.equal[id(fn)] = (fn, [(var[1], value)])

    def _equalities(self, fn: Compiled) -> list[tuple[str, Any]]:
        entry = self.equal.get(id(fn))
        return entry[1] if entry is not None else []

    def name(self, text: str) -> Compiled:
        constants = {"true": True, "false": False, "null": None}
        if text in constants:
            return const(constants[text])
        if text in KEYWORDS:
            self.i -= 1
            self.fail("expected a value")
        if self.take("("):
            return self.call(text, self.items(")"))
        self.names.add(text)
        fn: Compiled = lambda s: s.vars.get(text, MISSING)  # noqa: E731
        self.var_of[id(fn)] = (fn, text)
        return fn

    def items(self, close: str) -> list[Compiled]:
        items: list[Compiled] = []
        if self.take(close):
            return items
        while True:
            items.append(self.or_())
            if self.take(close):
                return items
            self.expect(",")

    def call(self, name: str, args: list[Compiled]) -> Compiled:
        entry = FUNCTIONS.get(name)
        if entry is None:
            raise ExprError(f"unknown function {name}() (known: {', '.join(sorted(FUNCTIONS))})")
        fn, arity = entry
        if len(args) not in arity:
            raise ExprError(
                f"{name}() takes {arity.start}..{arity.stop - 1} arguments, got {len(args)}"
            )

        def run(s: Scope) -> Any:
            values = [a(s) for a in args]
            if any(v is MISSING for v in values):
                return MISSING
            try:
                return fn(s, *values)
            except (TypeError, ValueError, ArithmeticError) as exc:
                raise ExprError(f"{name}(): {exc}") from None

        return run
