"""The pure evaluation core: occurrences in, firings out.  No I/O, no tasks, no MQTT.

    core = Evaluator(store, clock=fake_clock)
    core.load(rules)                      # swap the rule set (hot reload)
    firings = core.handle(occurrence)     # an event, a presence change, a flag, ...
    firings += core.due()                 # timers: for, debounce, schedules

Time comes only from ``clock``, so ``for`` durations, debounce, throttle and
schedules are tested by moving a fake clock and calling :meth:`Evaluator.due`;
the engine's timer loop does the same with the hub's clock.

Per rule and per key (the occurrence's subject, or the rule's ``key``
template), a rule is in one of these states::

    idle ──holds──▶ pending (for / debounce) ──deadline──▶ fire
      ▲                │ not holds (for)                      │
      └────────────────┴──────────── not holds ◀── fired ◀────┘  (for: once per episode)
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rules.index import UNINDEXED, Group, Index, build_index
from rules.model import LoadedRule, Rule
from rules.scope import Scope, StoreView
from rules.stats import Stats
from rules.template import Template
from rules.triggers import Occurrence, ScheduleTrigger

log = logging.getLogger("storehub.rules")


@dataclass(slots=True)
class Firing:
    """A rule that fired, with the context its actions are rendered from."""

    rule: CompiledRule
    scope: Scope
    #: Why now: trigger | for | debounce | schedule | manual.
    reason: str


@dataclass(eq=False, slots=True)
class CompiledRule:
    rule: Rule
    file: Path
    stats: Stats
    enabled: bool
    name: str
    #: The hot path's view of the rule, as plain closures and values: reaching into
    #: pydantic models (private attributes above all) costs more than evaluating them.
    checks: list[Callable[[Scope], bool]]
    for_: float | None = None
    key: Template | None = None
    #: A ``(variable, literal)`` its conditions require (``device == 'fridge-3'``): the
    #: core evaluates it only for occurrences that have it.
    equality: tuple[str, Any] | None = None
    #: key → (deadline, scope) of a pending ``for`` or debounce.
    pending: dict[str, tuple[float, Scope]] = field(default_factory=dict)
    #: Keys whose ``for`` fired in the current episode (fire once until it stops holding).
    fired: set[str] = field(default_factory=set)
    last_fire: dict[str, float] = field(default_factory=dict)
    hits: dict[str, deque[float]] = field(default_factory=dict)
    next_run: float | None = None
    fingerprint: str = ""
    last_error_log: float = -math.inf

    def carry_state(self, old: CompiledRule) -> None:
        self.pending, self.fired, self.last_fire = old.pending, old.fired, old.last_fire
        self.hits, self.next_run = old.hits, old.next_run


class Evaluator:
    def __init__(
        self,
        store: StoreView,
        *,
        clock: Callable[[], float] = time.time,
        store_id: str = "",
        index_values: bool = True,
    ) -> None:
        self.store = store
        self.clock = clock
        self.store_id = store_id
        #: Index rules by the ``variable == literal`` their conditions require (off: every
        #: rule a trigger selects is evaluated, as the benchmark's "linear" figure shows).
        self.index_values = index_values
        self.rules: dict[str, CompiledRule] = {}
        #: Stats outlive reloads (Prometheus counters must never go down).
        self.stats: dict[str, Stats] = {}
        #: Enabled/disabled by the API, over what the file says; survives reloads.
        self.overrides: dict[str, bool] = {}
        self._index: Index = {}
        self._timed: set[CompiledRule] = set()
        #: Set when a timer was added: the engine's timer loop recomputes its sleep.
        self.timers_changed = False

    # -- the rule set ------------------------------------------------------------

    def load(self, loaded: Iterable[LoadedRule]) -> None:
        """Swap in a new rule set at once.  A rule that did not change keeps its pending
        timers and throttle state; every rule keeps its stats."""
        now = self.clock()
        rules: dict[str, CompiledRule] = {}
        for lr in loaded:
            r = lr.rule
            stats = self.stats.setdefault(r.name, Stats())
            compiled = CompiledRule(
                rule=r,
                file=lr.file,
                stats=stats,
                enabled=self.overrides.get(r.name, r.enabled),
                name=r.name,
                checks=[c.compiled() for c in r.conditions],
                for_=r.for_,
                equality=self._equality(r),
                key=Template(r.key) if r.key else None,
                fingerprint=r.model_dump_json(by_alias=True),
            )
            old = self.rules.get(r.name)
            if old is not None and old.fingerprint == compiled.fingerprint:
                compiled.carry_state(old)
            if isinstance(r.trigger, ScheduleTrigger) and compiled.next_run is None:
                compiled.next_run = r.trigger.next_after(now, self.store.tz)
            rules[r.name] = compiled
        index = build_index(rules.values())
        self.rules, self._index = rules, index
        self._timed = {c for c in rules.values() if c.pending or c.next_run is not None}
        self.timers_changed = True

    def _equality(self, rule: Rule) -> tuple[str, Any] | None:
        if not self.index_values:
            return None
        found = (eq for c in rule.conditions for eq in c.equalities() if eq[0] not in UNINDEXED)
        return next(found, None)

    def set_enabled(self, name: str, enabled: bool) -> None:
        """KeyError for an unknown rule.  Disabling drops its pending timers."""
        rule = self.rules[name]
        self.overrides[name] = enabled
        rule.enabled = enabled
        if not enabled:
            rule.pending.clear()
            rule.fired.clear()
            rule.hits.clear()

    # -- occurrences -------------------------------------------------------------

    def listens(self, source: str, name: str | None) -> bool:
        """Whether any rule could select an occurrence of this source and name: the
        engine skips building the occurrence (a payload dump) for events no rule wants."""
        by_name = self._index.get(source)
        return by_name is not None and (None in by_name or name in by_name)

    def handle(self, occ: Occurrence) -> list[Firing]:
        """Evaluate every rule whose trigger selects ``occ``."""
        by_name = self._index.get(occ.source)
        if not by_name:
            return []
        groups: list[Group] = []
        for bucket in (by_name.get(None), by_name.get(occ.name) if occ.name else None):
            if bucket is not None:
                groups += bucket.groups
                groups += bucket.by_subject.get(occ.subject, ())
        now = self.clock()
        vars = occ.vars
        vars["trigger"], vars["now"], vars["store"] = occ.source, now, self.store_id
        scope = Scope(vars, self.store)
        out: list[Firing] = []
        timer = time.perf_counter
        for group in groups:
            if not group.select(occ):
                continue
            held = group.holds is None or group.holds(occ)
            # One clock reading per rule: each rule is charged from the previous reading.
            started = timer()
            for rule in group.candidates(vars):
                if not rule.enabled:
                    continue
                vars["rule"] = rule.name
                ok = held
                try:
                    if ok:
                        for check in rule.checks:
                            if not check(scope):
                                ok = False
                                break
                except Exception as exc:  # a value a condition cannot handle: not a crash
                    ok = False
                    self._error(rule, exc)
                if ok or rule.for_ is not None:
                    key = rule.key.text(vars) if rule.key is not None else occ.subject
                    firing = self._gate(rule, key, ok, scope, now)
                    if firing is not None:
                        out.append(firing)
                stats = rule.stats
                stats.evaluations += 1
                done = timer()
                stats.seconds += done - started
                started = done
        return out

    def _error(self, rule: CompiledRule, exc: Exception) -> None:
        rule.stats.errors += 1
        now = self.clock()
        if now - rule.last_error_log >= 60:  # a broken rule must not flood the log
            rule.last_error_log = now
            log.warning("rule %s: condition failed: %s", rule.name, exc)

    def _conditions(self, rule: CompiledRule, scope: Scope) -> bool:
        """Evaluate a rule's conditions outside :meth:`handle` (timers, manual runs)."""
        stats = rule.stats
        stats.evaluations += 1
        started = time.perf_counter()
        try:
            return all(check(scope) for check in rule.checks)
        except Exception as exc:
            self._error(rule, exc)
            return False
        finally:
            stats.seconds += time.perf_counter() - started

    def _gate(
        self, rule: CompiledRule, key: str, holds: bool, scope: Scope, now: float
    ) -> Firing | None:
        r = rule.rule
        if r.for_ is not None:
            if not holds:
                rule.pending.pop(key, None)
                rule.fired.discard(key)
                return None
            if key in rule.fired:
                return None
            pending = rule.pending.get(key)
            # Keep the first deadline but the latest context: the alert shows the
            # temperature now, not the one ten minutes ago.
            deadline = pending[0] if pending is not None else now + r.for_
            rule.pending[key] = (deadline, _freeze(scope))
            if pending is None:
                self._arm(rule)
            return None
        if not holds:
            return None
        if r.count is not None:
            hits = rule.hits.setdefault(key, deque())
            hits.append(now)
            while hits and hits[0] <= now - r.count.within:
                hits.popleft()
            if len(hits) < r.count.at_least:
                return None
            hits.clear()  # one firing per burst
        if r.debounce is not None:
            rule.pending[key] = (now + r.debounce, _freeze(scope))
            self._arm(rule)
            return None
        return self._fire(rule, key, _freeze(scope), now, "trigger")

    def _arm(self, rule: CompiledRule) -> None:
        self._timed.add(rule)
        self.timers_changed = True

    def _fire(
        self, rule: CompiledRule, key: str, scope: Scope, now: float, reason: str
    ) -> Firing | None:
        throttle = rule.rule.throttle
        if throttle is not None:
            if now - rule.last_fire.get(key, -math.inf) < throttle:
                rule.stats.skipped += 1
                return None
            rule.last_fire[key] = now
        rule.stats.fires += 1
        return Firing(rule, scope, reason)

    # -- time --------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        deadlines = [d for r in self._timed for d, _ in r.pending.values()]
        deadlines += [r.next_run for r in self._timed if r.next_run is not None]
        return min(deadlines, default=None)

    def due(self) -> list[Firing]:
        """Firings whose time has come: ``for`` and debounce deadlines, schedules."""
        now = self.clock()
        self.timers_changed = False
        out: list[Firing] = []
        for rule in list(self._timed):
            if not rule.enabled:
                continue
            for key, (deadline, scope) in list(rule.pending.items()):
                if deadline > now:
                    continue
                del rule.pending[key]
                scope.vars["now"] = now
                if rule.rule.for_ is not None:
                    # Store state may have moved since the last occurrence: look again.
                    if not self._conditions(rule, scope):
                        continue
                    rule.fired.add(key)
                reason = "for" if rule.rule.for_ is not None else "debounce"
                firing = self._fire(rule, key, scope, now, reason)
                if firing is not None:
                    out.append(firing)
            trigger = rule.rule.trigger
            if rule.next_run is not None and rule.next_run <= now:
                assert isinstance(trigger, ScheduleTrigger)
                rule.next_run = trigger.next_after(now, self.store.tz)
                scope = Scope(
                    {"rule": rule.name, "trigger": "schedule", "now": now, "store": self.store_id},
                    self.store,
                )
                if self._conditions(rule, scope):
                    firing = self._fire(rule, "", scope, now, "schedule")
                    if firing is not None:
                        out.append(firing)
            if not rule.pending and rule.next_run is None:
                self._timed.discard(rule)
        return out

    # -- manual runs -------------------------------------------------------------

    def manual(
        self, name: str, vars: dict[str, Any] | None = None, *, skip_conditions: bool = False
    ) -> Firing | None:
        """Fire a rule by name (``run_rule``, the API): its conditions are checked unless
        skipped; its trigger, for/debounce/count are not.  KeyError for an unknown rule."""
        rule = self.rules[name]
        if not rule.enabled:
            return None
        now = self.clock()
        scope = Scope(
            {**(vars or {}), "rule": name, "now": now, "store": self.store_id}, self.store
        )
        scope.vars.setdefault("trigger", "manual")
        if not skip_conditions and not self._conditions(rule, scope):
            return None
        return self._fire(rule, "", scope, now, "manual")


def _freeze(scope: Scope) -> Scope:
    """A copy of the context for a firing or a timer: the shared per-occurrence dict
    is rewritten for the next rule."""
    return Scope(dict(scope.vars), scope.store)
