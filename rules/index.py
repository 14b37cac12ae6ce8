"""The core's index of rules: which rules an occurrence can concern, found by lookups.

    source → event/flag name (None: any) → Bucket
        groups         rules grouped by identical trigger, for any subject
        by_subject     ... for one exact device (``device = "fridge-3"`` in the trigger)
    Group: one trigger's selector, evaluated once per occurrence for all its rules
        rules          evaluated for every occurrence the trigger selects
        by_value       variable → literal → rules whose conditions require it

Only lookups decide what is skipped, never a guess: a rule skipped by the index is
one whose trigger would not select the occurrence or whose conditions could not
hold, so the outcome is that of evaluating every rule (the tests check this).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rules.scope import MISSING
from rules.triggers import Occurrence

if TYPE_CHECKING:
    from rules.core import CompiledRule

#: Variables that differ per rule within one occurrence: never an index.
UNINDEXED = frozenset({"rule", "now"})


@dataclass(eq=False, slots=True)
class Group:
    """Rules with the same trigger: it selects an occurrence once for all of them.

    Rules whose conditions require ``variable == literal`` sit in ``by_value`` and are
    evaluated only for occurrences with that value: a thousand rules each about one
    device cost a few evaluations per event, not a thousand.  The rest (and every rule
    with ``for``, which must see the occurrences that do *not* hold, to cancel its
    timer) are evaluated for every occurrence the trigger selects."""

    select: Callable[[Occurrence], bool]
    holds: Callable[[Occurrence], bool] | None
    rules: list[CompiledRule] = field(default_factory=list)
    by_value: dict[str, dict[Any, list[CompiledRule]]] = field(default_factory=dict)

    def add(self, rule: CompiledRule) -> None:
        if rule.equality is None or rule.for_ is not None:
            self.rules.append(rule)
        else:
            var, value = rule.equality
            self.by_value.setdefault(var, {}).setdefault(value, []).append(rule)

    def candidates(self, vars: dict[str, Any]) -> list[CompiledRule]:
        if not self.by_value:
            return self.rules
        found = list(self.rules)
        for var, buckets in self.by_value.items():
            try:
                bucket = buckets.get(vars.get(var, MISSING))
            except TypeError:  # an unhashable value (a list) equals no literal
                bucket = None
            if bucket:
                found += bucket
        return found


@dataclass(eq=False, slots=True)
class Bucket:
    """The groups of one source and name: for any subject, or for one exact device."""

    groups: list[Group] = field(default_factory=list)
    by_subject: dict[str, list[Group]] = field(default_factory=dict)


Index = dict[str, dict[str | None, Bucket]]


def build_index(rules: Iterable[CompiledRule]) -> Index:
    groups: dict[str, Group] = {}
    index: Index = {}
    for c in rules:
        t = c.rule.trigger
        same = t.model_dump_json()
        group = groups.get(same)
        if group is None:
            group = groups[same] = Group(t.selector(), t.holds if t.filters else None)
            bucket = index.setdefault(t.source, {}).setdefault(t.index(), Bucket())
            subject = t.subject_index()
            if subject is None:
                bucket.groups.append(group)
            else:
                bucket.by_subject.setdefault(subject, []).append(group)
        group.add(c)
    return index
