"""Conditions: what must hold for a triggered rule to fire.  All of a rule's must hold.

One pydantic model per kind (``type`` the tag), each with a :meth:`Condition.check`
that reads the scope only — the context variables and the in-memory store view —
so evaluating a condition never does I/O.

The kinds are pluggable (members arrive in a later issue): subclass
:class:`Condition` with ``type: Literal["member_tier"]`` and a ``check``, then
:func:`register_condition` it, or name it under the entry-point group
``storehub.rules.conditions``.  Every model that holds conditions is rebuilt, so
the new kind validates like a built-in one, errors and all.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Annotated, Any, Literal, TypeVar, Union, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    PrivateAttr,
    field_validator,
    model_validator,
)
from pydantic_core import core_schema

from hub.state import FlagValue
from rules.errors import ExprError
from rules.expr import Expression
from rules.nodes import compare
from rules.scope import MISSING, Scope
from rules.template import Template, template

Check = Callable[[Scope], bool]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class Condition(BaseModel):
    # Built on first use: the union of kinds is only complete once plugins registered.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    type: str

    def check(self, scope: Scope) -> bool:
        raise NotImplementedError

    def compiled(self) -> Check:
        """:meth:`check` as a plain function for the core's hot loop; kinds that can do
        better (no pydantic attribute access per call) override it."""
        return self.check

    def names(self) -> set[str]:
        """The context variables it reads (a typo is caught when the file is loaded)."""
        return set()

    def equalities(self) -> list[tuple[str, Any]]:
        """``(variable, literal)`` pairs that must be equal for it to hold: the core
        evaluates the condition only for occurrences that have them."""
        return []


_KINDS: dict[str, type[Condition]] = {}
_HOLDERS: list[type[BaseModel]] = []
C = TypeVar("C", bound=type[Condition])


class _Pluggable:
    """Validates as the discriminated union of the kinds registered *now*."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        kinds = tuple(_KINDS.values())
        union: Any = kinds[0] if len(kinds) == 1 else Union[kinds]  # noqa: UP007
        return handler.generate_schema(Annotated[union, Field(discriminator="type")])


AnyCondition = Annotated[Condition, _Pluggable()]


def holds_conditions(*models: type[BaseModel]) -> None:
    """Declare models with :data:`AnyCondition` fields, to rebuild when a kind is added
    (inner models first)."""
    _HOLDERS.extend(models)


def register_condition(cls: C) -> C:
    """Add a condition kind (usable as a class decorator)."""
    model: type[Condition] = cls
    names = get_args(model.model_fields["type"].annotation)
    if len(names) != 1 or not isinstance(names[0], str):
        raise TypeError(f"{cls.__name__}.type must be a Literal of one string")
    _KINDS[names[0]] = cls
    for holder in _HOLDERS:
        holder.model_rebuild(force=True)
    return cls


_discovered = False


def discover() -> None:
    """Register the kinds third-party packages declare (once)."""
    global _discovered
    if _discovered:
        return
    _discovered = True
    for ep in entry_points(group="storehub.rules.conditions"):
        register_condition(ep.load())


@register_condition
class ExprCondition(Condition):
    """``{type="expr", expr="payload.celsius > 8 and role == 'fridge'"}`` (see rules.expr)."""

    type: Literal["expr"]
    expr: str
    _compiled: Expression = PrivateAttr()

    @model_validator(mode="after")
    def _compile(self) -> ExprCondition:
        try:
            self._compiled = Expression(self.expr)
        except ExprError as exc:
            raise ValueError(str(exc)) from None
        return self

    def check(self, scope: Scope) -> bool:
        return self._compiled.test(scope)

    def compiled(self) -> Check:
        return self._compiled.tester()

    def equalities(self) -> list[tuple[str, Any]]:
        return list(self._compiled.equalities)

    def names(self) -> set[str]:
        return set(self._compiled.names)


@register_condition
class CompareCondition(Condition):
    """``{type="compare", field="payload.count", op=">=", value=4}``."""

    type: Literal["compare"]
    field: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$")
    op: Literal["==", "!=", "<", "<=", ">", ">=", "in", "not in"]
    value: Any
    _fn: Any = PrivateAttr()

    @model_validator(mode="after")
    def _build(self) -> CompareCondition:
        path = self.field.split(".")
        value = self.value

        def get(s: Scope) -> Any:
            v: Any = s.vars
            for key in path:
                v = v.get(key, MISSING) if isinstance(v, dict) else MISSING
            return v

        self._fn = compare(self.op, get, lambda s: value)
        return self

    def check(self, scope: Scope) -> bool:
        return bool(self._fn(scope))

    def compiled(self) -> Check:
        fn: Check = self._fn
        return fn

    def equalities(self) -> list[tuple[str, Any]]:
        scalar = self.value is None or isinstance(self.value, str | int | float | bool)
        if self.op == "==" and "." not in self.field and scalar:
            return [(self.field, self.value)]
        return []

    def names(self) -> set[str]:
        return {self.field.split(".")[0]}


@register_condition
class PresenceCondition(Condition):
    """``{type="presence", device="door-out", online=true}``; ``device`` is a template."""

    type: Literal["presence"]
    device: str = "{device}"
    online: bool = True
    _device: Template = PrivateAttr()

    @model_validator(mode="after")
    def _build(self) -> PresenceCondition:
        self._device = template("device", self.device)
        return self

    def check(self, scope: Scope) -> bool:
        return scope.store.online(self._device.text(scope.vars)) is self.online

    def names(self) -> set[str]:
        return self._device.names


@register_condition
class StockCondition(Condition):
    """``{type="stock", item="milk-1l", zone="dairy", low=true}`` (at or below safe stock),
    or ``below``/``above`` a quantity.  ``item``/``zone`` are templates."""

    type: Literal["stock"]
    item: str = "{item}"
    zone: str = "{zone}"
    low: bool | None = None
    below: float | None = None
    above: float | None = None
    _item: Template = PrivateAttr()
    _zone: Template = PrivateAttr()

    @model_validator(mode="after")
    def _some_test(self) -> StockCondition:
        if self.low is None and self.below is None and self.above is None:
            raise ValueError("a stock condition needs 'low', 'below' or 'above'")
        self._item, self._zone = template("item", self.item), template("zone", self.zone)
        return self

    def check(self, scope: Scope) -> bool:
        level = scope.store.stock(self._item.text(scope.vars), self._zone.text(scope.vars))
        if level is None:
            return False
        return (
            (self.low is None or level.low is self.low)
            and (self.below is None or level.qty < self.below)
            and (self.above is None or level.qty > self.above)
        )

    def names(self) -> set[str]:
        return self._item.names | self._zone.names


@register_condition
class TimeCondition(Condition):
    """Time of day and weekday in the store's timezone: ``{type="time", after="22:00",
    before="06:00"}`` spans midnight; ``weekdays=["sat", "sun"]``."""

    type: Literal["time"]
    after: str | None = None
    before: str | None = None
    weekdays: list[Weekday] | None = None

    @field_validator("after", "before")
    @classmethod
    def _hhmm(cls, value: str | None) -> str | None:
        if value is not None and not _HHMM.match(value):
            raise ValueError(f"{value!r} is not a time of day HH:MM (24 h)")
        return value

    @model_validator(mode="after")
    def _some_test(self) -> TimeCondition:
        if self.after is None and self.before is None and not self.weekdays:
            raise ValueError("a time condition needs 'after', 'before' or 'weekdays'")
        return self

    def check(self, scope: Scope) -> bool:
        now = scope.local_time()
        if self.weekdays and now.strftime("%a").lower() not in self.weekdays:
            return False
        hhmm = f"{now.hour:02d}:{now.minute:02d}"
        after, before = self.after, self.before
        if after is not None and before is not None and after > before:  # spans midnight
            return hhmm >= after or hhmm < before
        return (after is None or hhmm >= after) and (before is None or hhmm < before)


@register_condition
class FlagCondition(Condition):
    """``{type="flag", name="emergency"}`` (is true) or ``equals="closing"``."""

    type: Literal["flag"]
    name: str
    equals: FlagValue = True

    def check(self, scope: Scope) -> bool:
        value = scope.store.flag(self.name)
        return bool(value == self.equals and type(value) is type(self.equals))


@register_condition
class AllCondition(Condition):
    type: Literal["all"]
    conditions: list[AnyCondition] = Field(min_length=1)

    def check(self, scope: Scope) -> bool:
        return all(c.check(scope) for c in self.conditions)

    def compiled(self) -> Check:
        checks = [c.compiled() for c in self.conditions]
        return lambda s: all(c(s) for c in checks)

    def names(self) -> set[str]:
        return set().union(*(c.names() for c in self.conditions))


@register_condition
class AnyOfCondition(Condition):
    type: Literal["any"]
    conditions: list[AnyCondition] = Field(min_length=1)

    def check(self, scope: Scope) -> bool:
        return any(c.check(scope) for c in self.conditions)

    def compiled(self) -> Check:
        checks = [c.compiled() for c in self.conditions]
        return lambda s: any(c(s) for c in checks)

    def names(self) -> set[str]:
        return set().union(*(c.names() for c in self.conditions))


@register_condition
class NotCondition(Condition):
    """True when none of its conditions holds."""

    type: Literal["not"]
    conditions: list[AnyCondition] = Field(min_length=1)

    def check(self, scope: Scope) -> bool:
        return not any(c.check(scope) for c in self.conditions)

    def compiled(self) -> Check:
        checks = [c.compiled() for c in self.conditions]
        return lambda s: not any(c(s) for c in checks)

    def names(self) -> set[str]:
        return set().union(*(c.names() for c in self.conditions))


holds_conditions(AllCondition, AnyOfCondition, NotCondition)
