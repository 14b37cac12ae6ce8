"""Runs: a fired rule's actions, one after the other, in a task — under its run mode.

Modes, as in Home Assistant scripts, decide what a firing does while the rule
is still running from an earlier one:

- ``single``   — it is dropped (counted as skipped);
- ``restart``  — the running run is cancelled and a new one starts;
- ``queued``   — it waits its turn (``max`` runs queued or running, then dropped);
- ``parallel`` — it runs beside the others (``max`` at once, then dropped).

A step that fails (a command a device rejects, a webhook that gives up) counts
an error for the rule and the run goes on with the next action: the alert after
a failed webhook must still reach staff.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from rules.actions import Services
from rules.core import Firing

log = logging.getLogger("storehub.rules")

Spawn = Callable[[Coroutine[Any, Any, Any], str], "asyncio.Task[Any]"]


@dataclass(slots=True)
class _Runs:
    running: set[asyncio.Task[Any]] = field(default_factory=set)
    queue: deque[Firing] = field(default_factory=deque)


class Runner:
    def __init__(self, services: Services, spawn: Spawn) -> None:
        self._services = services
        self._spawn = spawn
        # By rule name, so runs outlive a reload of their rule.
        self._runs: dict[str, _Runs] = {}

    def running(self, rule: str) -> int:
        runs = self._runs.get(rule)
        return len(runs.running) if runs else 0

    def queued(self, rule: str) -> int:
        runs = self._runs.get(rule)
        return len(runs.queue) if runs else 0

    def dispatch(self, firing: Firing) -> bool:
        """Start (or queue) a run of a fired rule; False when its mode drops it."""
        r = firing.rule.rule
        runs = self._runs.setdefault(r.name, _Runs())
        busy = len(runs.running)
        if r.mode == "restart":
            for task in list(runs.running):
                task.cancel()
        elif busy and r.mode == "single":
            return self._skip(firing, "still running")
        elif busy and r.mode == "queued":
            if busy + len(runs.queue) >= r.max:
                return self._skip(firing, f"queue full ({r.max})")
            runs.queue.append(firing)
            return True
        elif r.mode == "parallel" and busy >= r.max:
            return self._skip(firing, f"{r.max} runs already")
        self._start(firing, runs)
        return True

    def _skip(self, firing: Firing, why: str) -> bool:
        firing.rule.stats.skipped += 1
        log.debug(
            "rule %s: firing dropped (%s mode, %s)", firing.rule.name, firing.rule.rule.mode, why
        )
        return False

    def _start(self, firing: Firing, runs: _Runs) -> None:
        firing.rule.stats.runs += 1
        task = self._spawn(self._run(firing), f"rule:{firing.rule.name}")
        runs.running.add(task)
        task.add_done_callback(lambda t: self._done(t, runs))

    def _done(self, task: asyncio.Task[Any], runs: _Runs) -> None:
        runs.running.discard(task)
        if runs.queue and not runs.running:
            self._start(runs.queue.popleft(), runs)

    async def _run(self, firing: Firing) -> None:
        rule, scope = firing.rule, firing.scope
        for i, action in enumerate(rule.rule.actions):
            try:
                steps = action.plan(scope)
            except Exception as exc:
                rule.stats.errors += 1
                log.warning(
                    "rule %s: actions[%d] (%s) could not be planned: %s",
                    rule.name,
                    i,
                    action.type,
                    exc,
                )
                continue
            for step in steps:
                try:
                    ok = await self._services.execute(step, scope.vars)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("rule %s: actions[%d] (%s) failed", rule.name, i, action.type)
                    ok = False
                if not ok:
                    rule.stats.errors += 1

    async def cancel_all(self) -> None:
        tasks = [t for runs in self._runs.values() for t in runs.running]
        for runs in self._runs.values():
            runs.queue.clear()
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
