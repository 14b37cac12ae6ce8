"""The rules engine as a hub service: bus events in, actions through the hub's services out.

    bus ─▶ occurrence ─▶ Evaluator (pure, rules/core.py) ─▶ firing ─▶ Runner (run modes)
                              ▲ timers: for / debounce / schedules        │ hub.spawn
    configs/rules/*.toml ─────┘ hot reload (mtime poll, or reload())      ▼
                                                  hub.command · hub.alerts · webhooks · flags

Evaluation never does I/O: conditions read the in-memory store view, and every
action runs later in its own task.  One bus subscription lives as long as the
engine; a reload swaps the rule set between two events, so none is lost or
seen twice.  Rules come from ``$STOREHUB_RULES_DIR``, else ``rules/`` beside
the store config file (``configs/rules/`` for ``configs/demo.toml``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections.abc import Iterable
from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict

from hub.bus import Subscription
from hub.errors import HubError
from hub.inventory import Inventory, StockLevel
from hub.inventory import attach as attach_inventory
from hub.state import StateFlags
from hub.state import attach as attach_flags
from hub.webhooks import Webhooks
from rules.actions import (
    AlertStep,
    CommandStep,
    DelayStep,
    FlagStep,
    ResolveStep,
    RunRuleStep,
    Step,
    WebhookStep,
)
from rules.core import Evaluator
from rules.model import load_path, rule_files
from rules.runner import Runner
from rules.scope import DeviceInfo
from rules.stats import RuleCollector
from rules.triggers import occurrence_of, source_of

if TYPE_CHECKING:
    from hub.hub import Hub

log = logging.getLogger("storehub.rules")
S = TypeVar("S")
#: Bus event types rules react to.
SOURCES = frozenset({"device_event", "presence", "alert", "flag", "stock"})


class RuleStatsInfo(BaseModel):
    evaluations: int
    fires: int
    errors: int
    seconds: float
    runs: int
    skipped: int


class RuleInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    file: str
    description: str
    enabled: bool
    mode: str
    trigger: str
    running: int
    stats: RuleStatsInfo


class ReloadResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    ok: bool
    rules: int
    errors: list[str]


def rules_dir(hub: Hub) -> Path:
    env = os.environ.get("STOREHUB_RULES_DIR")
    return Path(env) if env else hub.config.source.parent / "rules"


def store_tz(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("unknown store timezone %r: rules use UTC", name)
        return ZoneInfo("UTC")


class HubStore:
    """The hub as a :class:`rules.scope.StoreView`: registry, inventory, flags, clock."""

    def __init__(self, hub: Hub, flags: StateFlags, inventory: Inventory) -> None:
        self._hub, self._flags, self._inventory = hub, flags, inventory
        self._tz = store_tz(hub.config.store.store.timezone)
        # Devices come from the config: fixed while the hub runs.
        self._devices = {
            d.id: DeviceInfo(d.id, d.kind, d.zone, d.config.role, d.config.may_sleep)
            for d in hub.registry
        }

    @property
    def tz(self) -> tzinfo:
        return self._tz

    def now(self) -> float:
        return self._hub.clock()

    def device(self, device_id: str) -> DeviceInfo | None:
        return self._devices.get(device_id)

    def devices(self) -> Iterable[DeviceInfo]:
        return self._devices.values()

    def online(self, device_id: str) -> bool | None:
        device = self._hub.registry.get(device_id)
        return device.online if device is not None else None

    def stock(self, item: str, zone: str) -> StockLevel | None:
        return self._inventory.level(item, zone)

    def flag(self, name: str) -> Any:
        return self._flags.get(name)

    def service(self, cls: type[S]) -> S | None:
        return self._hub.service(cls)


class RuleEngine:
    """Runs the store's rules; the store API finds it with ``hub.service(RuleEngine)``."""

    def __init__(
        self,
        hub: Hub,
        flags: StateFlags,
        inventory: Inventory,
        *,
        path: Path | None = None,
        poll: float = 1.0,
        webhooks: Webhooks | None = None,
    ) -> None:
        self.hub = hub
        self.flags = flags
        self.inventory = inventory
        self.path = path or rules_dir(hub)
        self.poll = poll
        self.webhooks = webhooks or Webhooks()
        self.core = Evaluator(
            HubStore(hub, flags, inventory), clock=hub.clock, store_id=hub.store_id
        )
        self.runner = Runner(self, lambda coro, name: hub.spawn(coro, name))
        self.last_errors: list[str] = []
        self._wake = asyncio.Event()
        self._snapshot: dict[Path, tuple[int, int]] = {}
        self._reload_lock = asyncio.Lock()
        hub.metrics.registry.register(
            RuleCollector(lambda: [(name, stats) for name, stats in self.core.stats.items()])
        )

    # -- service API -------------------------------------------------------------

    def list(self) -> list[RuleInfo]:
        return [
            RuleInfo(
                name=c.name,
                file=str(c.file),
                description=c.rule.description,
                enabled=c.enabled,
                mode=c.rule.mode,
                trigger=c.rule.trigger.summary(),
                running=self.runner.running(c.name),
                stats=RuleStatsInfo(
                    evaluations=c.stats.evaluations,
                    fires=c.stats.fires,
                    errors=c.stats.errors,
                    seconds=c.stats.seconds,
                    runs=c.stats.runs,
                    skipped=c.stats.skipped,
                ),
            )
            for c in self.core.rules.values()
        ]

    async def reload(self) -> ReloadResult:
        """Load the rule files again; on any error the running rule set stays as it was."""
        async with self._reload_lock:
            self._snapshot = self._scan()
            # Parsing is CPU work on files: off the loop, so events keep flowing meanwhile.
            result = await asyncio.to_thread(load_path, self.path)
            self.last_errors = result.errors
            if not result.ok:
                for line in result.errors:
                    log.error("rules not reloaded: %s", line)
                return ReloadResult(ok=False, rules=len(self.core.rules), errors=result.errors)
            self.core.load(result.rules)
            self._wake.set()
            log.info("rules reloaded from %s: %d rules", self.path, len(result.rules))
            return ReloadResult(ok=True, rules=len(result.rules), errors=[])

    def set_enabled(self, name: str, enabled: bool) -> None:
        """Turn a rule on or off (kept across reloads and restarts); KeyError if unknown."""
        self.core.set_enabled(name, enabled)
        now = self.hub.clock()

        def write(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO rule_overrides(name, enabled, updated) VALUES (?,?,?)"
                " ON CONFLICT(name) DO UPDATE SET enabled=excluded.enabled,"
                " updated=excluded.updated",
                (name, int(enabled), now),
            )

        self.hub.spawn(self.hub.journal.call(write), f"rule-override:{name}")

    def fire(
        self, name: str, vars: dict[str, Any] | None = None, *, skip_conditions: bool = False
    ) -> bool:
        """Run a rule now (the API's "run", another rule's ``run_rule``); whether it
        started. KeyError for an unknown rule."""
        firing = self.core.manual(name, vars, skip_conditions=skip_conditions)
        return firing is not None and self.runner.dispatch(firing)

    # -- running -----------------------------------------------------------------

    async def start(self) -> None:
        rows = await self.hub.journal.call(
            lambda c: c.execute("SELECT name, enabled FROM rule_overrides").fetchall()
        )
        self.core.overrides = {name: bool(enabled) for name, enabled in rows}
        self._snapshot = self._scan()
        result = await asyncio.to_thread(load_path, self.path)
        self.last_errors = result.errors
        for line in result.errors:
            log.error("rule file error: %s", line)
        # At start there is no older set to keep: run the valid rules, report the rest.
        self.core.load(result.rules)
        log.info("%d rules loaded from %s", len(result.rules), self.path)

    async def run(self, sub: Subscription | None = None) -> None:
        """Consume the bus, fire timers, watch the files; until cancelled."""
        sub = sub or _subscribe(self.hub)
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self._consume(sub), name="rules:events")
                tg.create_task(self._timers(), name="rules:timers")
                if self.poll > 0:
                    tg.create_task(self._watch(), name="rules:watch")
        finally:
            sub.close()
            await self.runner.cancel_all()
            await asyncio.shield(self.webhooks.aclose())

    async def _consume(self, sub: Subscription) -> None:
        core, store, runner = self.core, self.core.store, self.runner
        async for event in sub:
            source = source_of(event)
            if source is None or not core.listens(*source):
                continue
            occ = occurrence_of(event, store)
            if occ is None:
                continue
            for firing in core.handle(occ):
                runner.dispatch(firing)
            if core.timers_changed:
                self._wake.set()

    async def _timers(self) -> None:
        while True:
            deadline = self.core.next_deadline()
            # Capped, so that a wall-clock jump is noticed within a minute.
            timeout = 60.0 if deadline is None else min(max(deadline - self.hub.clock(), 0), 60)
            self._wake.clear()
            if timeout > 0:
                try:
                    async with asyncio.timeout(timeout):
                        await self._wake.wait()
                except TimeoutError:
                    pass
            for firing in self.core.due():
                self.runner.dispatch(firing)

    def _scan(self) -> dict[Path, tuple[int, int]]:
        snapshot = {}
        for path in rule_files(self.path) if self.path.exists() else []:
            try:
                st = path.stat()
            except OSError:
                continue
            snapshot[path] = (st.st_mtime_ns, st.st_size)
        return snapshot

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.poll)
            if self._scan() != self._snapshot:
                result = await self.reload()
                if result.ok:
                    log.info("rule files changed: %d rules", result.rules)

    # -- Services: executing a step through the hub ------------------------------

    async def execute(self, step: Step, vars: dict[str, Any]) -> bool:
        hub, rule = self.hub, str(vars.get("rule", "?"))
        if isinstance(step, CommandStep):
            try:
                args = step.args if isinstance(step.args, dict) else {}
                outcome = await hub.command(step.device, step.name, ttl=step.ttl, **args)
            except HubError as exc:
                log.warning("rule %s: command %s to %s: %s", rule, step.name, step.device, exc)
                return False
            return outcome.ok
        if isinstance(step, AlertStep):
            await hub.alerts.raise_(
                step.kind,
                step.severity,
                step.title,
                device=step.device,
                zone=step.zone,
                data={**step.data, "rule": rule},
                key=step.key,
            )
            return True
        if isinstance(step, ResolveStep):
            await hub.alerts.resolve(key=step.key, notify=step.notify)
            return True
        if isinstance(step, WebhookStep):
            result = await self.webhooks.call(
                step.url,
                method=step.method,
                json=step.body,
                headers=step.headers,
                timeout=step.timeout,
                retries=step.retries,
            )
            return result.ok
        if isinstance(step, FlagStep):
            await self.flags.set(step.name, step.value, by=f"rule:{rule}")
            return True
        if isinstance(step, RunRuleStep):
            try:
                self.fire(step.rule, dict(vars), skip_conditions=step.skip_conditions)
            except KeyError:
                log.warning("rule %s: run_rule: no rule %r", rule, step.rule)
                return False
            return True
        if isinstance(step, DelayStep):
            await asyncio.sleep(step.seconds)
            return True
        raise TypeError(f"unknown step {step!r}")


def _subscribe(hub: Hub) -> Subscription:
    return hub.bus.subscribe("rules", accept=lambda e: e.type in SOURCES)


async def plugin(hub: Hub) -> None:
    """The hub's built-in rules plugin (``hub.plugins``)."""
    # Subscribe before the first await: events that arrive while the rules load wait
    # in the subscription instead of passing by.
    sub = _subscribe(hub)
    flags = await attach_flags(hub)
    inventory = await attach_inventory(hub)
    engine = RuleEngine(hub, flags, inventory)
    hub.provide(engine)
    await engine.start()
    await engine.run(sub)
