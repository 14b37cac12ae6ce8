"""The pure evaluation core with a controllable clock: for, debounce, throttle, count,
schedules, enable/disable and reload — no MQTT, no tasks."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hub.inventory import StockLevel
from rules.actions import CommandStep
from rules.core import Evaluator, Firing
from rules.model import LoadedRule, parse_rules
from rules.scope import DeviceInfo, MemoryStore
from rules.triggers import Occurrence

T0 = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC


class Clock:
    def __init__(self, t: float = T0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def make_store(clock: Clock, tz: str = "UTC") -> MemoryStore:
    store = MemoryStore(clock=clock, timezone=ZoneInfo(tz))
    store.add(
        DeviceInfo("fridge-1", "sensor", "dairy", "fridge"),
        DeviceInfo("fridge-2", "sensor", "dairy", "fridge"),
        DeviceInfo("freezer-1", "sensor", "frozen", "freezer"),
        DeviceInfo("door-in", "door", "entrance"),
        DeviceInfo("door-out", "door", "exit"),
        DeviceInfo("kiosk-1", "kiosk", "checkout"),
    )
    return store


def rules(text: str) -> list[LoadedRule]:
    found, errors = parse_rules(text, Path("test.toml"))
    assert errors == []
    return [LoadedRule(r, Path("test.toml")) for r in found]


def core_with(text: str, clock: Clock | None = None, tz: str = "UTC") -> Evaluator:
    clock = clock or Clock()
    core = Evaluator(make_store(clock, tz), clock=clock, store_id="s1")
    core.load(rules(text))
    return core


def event(device: str, name: str, store: MemoryStore | None = None, **payload: Any) -> Occurrence:
    info = store.device(device) if store else None
    return Occurrence(
        "event",
        device,
        {
            "device": device,
            "kind": info.kind if info else "sensor",
            "zone": info.zone if info else None,
            "role": info.role if info else None,
            "name": name,
            "seq": 1,
            "ts": 0.0,
            "payload": payload,
        },
        name,
    )


def temp(core: Evaluator, device: str, celsius: float) -> list[Firing]:
    assert isinstance(core.store, MemoryStore)
    return core.handle(event(device, "temperature", core.store, celsius=celsius))


FRIDGE = """
[[rules]]
name = "fridge_too_warm"
trigger = { type = "event", kind = "sensor", name = "temperature" }
conditions = [{ type = "expr", expr = "role == 'fridge' and payload.celsius > 8" }]
for = "10m"
actions = [{ type = "alert", kind = "temperature_excursion", title = "{device} {payload.celsius}" }]
"""


def test_matching_event_fires_and_others_do_not() -> None:
    core = core_with("""
[[rules]]
name = "help"
trigger = { type = "event", kind = "kiosk", name = "help", device = "kiosk-*" }
actions = [{ type = "alert", kind = "help_request", title = "Help at {device}" }]
""")
    store = core.store
    assert isinstance(store, MemoryStore)
    [firing] = core.handle(event("kiosk-1", "help", store))
    assert firing.rule.name == "help" and firing.reason == "trigger"
    assert firing.scope.vars["device"] == "kiosk-1" and firing.scope.vars["rule"] == "help"
    assert core.handle(event("kiosk-1", "scan", store)) == []
    assert core.handle(event("door-in", "help", store)) == []  # kind door
    assert core.rules["help"].stats.fires == 1


def test_for_fires_only_after_holding_the_whole_duration() -> None:
    clock = Clock()
    core = core_with(FRIDGE, clock)
    assert temp(core, "fridge-1", 9.0) == []
    assert core.next_deadline() == T0 + 600
    clock.advance(300)
    assert temp(core, "fridge-1", 9.5) == []  # still holding: no new timer
    assert core.due() == []
    assert core.next_deadline() == T0 + 600
    clock.advance(300)
    [firing] = core.due()
    assert firing.reason == "for"
    assert firing.scope.vars["payload"]["celsius"] == 9.5  # the latest reading
    # Fires once per episode: more warm readings do not fire again...
    clock.advance(60)
    assert temp(core, "fridge-1", 10.0) == []
    clock.advance(3600)
    assert core.due() == []
    # ...until it cools down and warms up again for another 10 minutes.
    assert temp(core, "fridge-1", 5.0) == []
    assert temp(core, "fridge-1", 9.0) == []
    clock.advance(599)
    assert core.due() == []
    clock.advance(1)
    assert len(core.due()) == 1


def test_for_is_cancelled_when_the_condition_breaks() -> None:
    clock = Clock()
    core = core_with(FRIDGE, clock)
    temp(core, "fridge-1", 9.0)
    clock.advance(300)
    temp(core, "fridge-1", 7.0)  # door closed, back in range
    assert core.next_deadline() is None
    clock.advance(600)
    assert core.due() == []


def test_for_is_tracked_per_device() -> None:
    clock = Clock()
    core = core_with(FRIDGE, clock)
    temp(core, "fridge-1", 9.0)
    clock.advance(300)
    temp(core, "fridge-2", 9.0)
    temp(core, "fridge-1", 7.0)  # only fridge-1 recovers
    clock.advance(600)
    [firing] = core.due()
    assert firing.scope.vars["device"] == "fridge-2"


def test_for_rechecks_store_conditions_when_it_expires() -> None:
    clock = Clock()
    core = core_with(
        """
[[rules]]
name = "warm_when_open"
trigger = { type = "event", name = "temperature" }
conditions = [{ type = "expr", expr = "payload.celsius > 8" }, { type = "flag", name = "open" }]
for = "1m"
actions = [{ type = "alert", kind = "x", title = "x" }]
""",
        clock,
    )
    assert isinstance(core.store, MemoryStore)
    core.store.flags["open"] = True
    temp(core, "fridge-1", 9.0)
    core.store.flags["open"] = False  # the store closed meanwhile
    clock.advance(60)
    assert core.due() == []


def test_presence_for_is_cancelled_by_coming_back() -> None:
    clock = Clock()
    core = core_with(
        """
[[rules]]
name = "offline_long"
trigger = { type = "presence", online = false }
conditions = [{ type = "expr", expr = "not may_sleep" }]
for = "5m"
actions = [{ type = "alert", kind = "device_offline_long", severity = "critical", title = "x" }]
""",
        clock,
    )

    def presence(device: str, online: bool) -> list[Firing]:
        return core.handle(
            Occurrence("presence", device, {"device": device, "online": online, "may_sleep": False})
        )

    presence("door-in", False)
    presence("door-out", False)
    clock.advance(120)
    presence("door-in", True)
    clock.advance(180)
    [firing] = core.due()
    assert firing.scope.vars["device"] == "door-out"


DEBOUNCE = """
[[rules]]
name = "settled"
trigger = { type = "event", name = "queue" }
debounce = "5s"
actions = [{ type = "alert", kind = "queue", title = "{payload.count}" }]
"""


def test_debounce_fires_once_after_quiet_with_the_last_context() -> None:
    clock = Clock()
    core = core_with(DEBOUNCE, clock)
    for count in (3, 4, 5):
        assert core.handle(event("kiosk-1", "queue", count=count)) == []
        clock.advance(2)
    assert core.due() == []  # 2 s after the last one
    clock.advance(3)
    [firing] = core.due()
    assert firing.reason == "debounce" and firing.scope.vars["payload"]["count"] == 5
    assert core.due() == []


def test_throttle_drops_firings_inside_the_window_per_key() -> None:
    clock = Clock()
    core = core_with("""
[[rules]]
name = "help"
trigger = { type = "event", name = "help" }
throttle = "10s"
actions = [{ type = "alert", kind = "help_request", title = "x" }]
""")
    core.clock = clock
    assert len(core.handle(event("kiosk-1", "help"))) == 1
    clock.advance(3)
    assert core.handle(event("kiosk-1", "help")) == []
    assert len(core.handle(event("kiosk-2", "help"))) == 1  # another key
    clock.advance(7)
    assert len(core.handle(event("kiosk-1", "help"))) == 1
    stats = core.rules["help"].stats
    assert (stats.fires, stats.skipped, stats.evaluations) == (3, 1, 4)


def test_rule_key_template_groups_occurrences() -> None:
    clock = Clock()
    core = core_with(
        """
[[rules]]
name = "zone_help"
trigger = { type = "event", name = "help" }
key = "{zone}"
throttle = "1m"
actions = [{ type = "alert", kind = "help_request", title = "x" }]
""",
        clock,
    )
    first = event("kiosk-1", "help")
    first.vars["zone"] = "checkout"
    second = event("kiosk-2", "help")
    second.vars["zone"] = "checkout"
    assert len(core.handle(first)) == 1
    assert core.handle(second) == []  # same zone: throttled together


def test_count_fires_on_the_nth_occurrence_within_the_window() -> None:
    clock = Clock()
    core = core_with(
        """
[[rules]]
name = "flapping"
trigger = { type = "presence", online = false }
count = { at_least = 3, within = "10m" }
actions = [{ type = "alert", kind = "device_flapping", title = "x" }]
""",
        clock,
    )
    off = Occurrence("presence", "door-in", {"device": "door-in", "online": False})
    assert core.handle(off) == []
    clock.advance(500)
    assert core.handle(off) == []
    clock.advance(200)  # the first drop-out is now older than 10 minutes
    assert core.handle(off) == []
    clock.advance(10)
    assert len(core.handle(off)) == 1


def test_schedule_every_fires_on_aligned_ticks() -> None:
    clock = Clock(T0)
    core = core_with(
        """
[[rules]]
name = "tick"
trigger = { type = "schedule", every = "5m" }
actions = [{ type = "alert", kind = "tick", title = "{now}" }]
""",
        clock,
    )
    first = core.next_deadline()
    assert first is not None and first % 300 == 0 and T0 < first <= T0 + 300
    assert core.due() == []
    clock.t = first
    [firing] = core.due()
    assert firing.reason == "schedule" and firing.scope.vars["now"] == first
    assert core.next_deadline() == first + 300


def test_schedule_cron_uses_the_store_timezone() -> None:
    clock = Clock(T0)  # 06:13 in Shanghai
    core = core_with(
        """
[[rules]]
name = "opening"
trigger = { type = "schedule", cron = "0 8 * * *" }
conditions = [{ type = "time", after = "07:00" }]
actions = [{ type = "flag", name = "open", value = true }]
""",
        clock,
        tz="Asia/Shanghai",
    )
    deadline = core.next_deadline()
    assert deadline == T0 - (T0 % 86400) + 86400  # 08:00 +08:00 = 00:00 UTC the next day
    clock.t = deadline
    assert len(core.due()) == 1


def test_disabled_rules_do_not_fire_and_unknown_names_raise() -> None:
    clock = Clock()
    core = core_with(FRIDGE, clock)
    temp(core, "fridge-1", 9.0)
    core.set_enabled("fridge_too_warm", False)
    assert core.next_deadline() is None  # its pending timer is dropped
    assert temp(core, "fridge-1", 9.0) == []
    clock.advance(600)
    assert core.due() == []
    with pytest.raises(KeyError):
        core.set_enabled("no_such_rule", True)
    core.set_enabled("fridge_too_warm", True)
    temp(core, "fridge-1", 9.0)
    clock.advance(600)
    assert len(core.due()) == 1


def test_reload_keeps_state_of_unchanged_rules_and_stats_of_all() -> None:
    clock = Clock()
    core = core_with(FRIDGE + DEBOUNCE, clock)
    temp(core, "fridge-1", 9.0)
    core.handle(event("kiosk-1", "queue", count=1))
    core.set_enabled("settled", False)
    clock.advance(300)
    changed = DEBOUNCE.replace('debounce = "5s"', 'debounce = "6s"')
    core.load(rules(FRIDGE + changed))
    assert core.rules["settled"].enabled is False  # the override survives the reload
    assert core.rules["settled"].pending == {}  # changed: starts afresh
    assert core.rules["fridge_too_warm"].stats.evaluations == 1
    clock.advance(300)
    [firing] = core.due()  # unchanged: the pending for still fires on time
    assert firing.rule.name == "fridge_too_warm"
    core.load(rules(DEBOUNCE))
    assert "fridge_too_warm" not in core.rules
    assert core.stats["fridge_too_warm"].fires == 1  # counters never go backwards


def test_a_condition_failing_on_a_value_counts_an_error() -> None:
    core = core_with("""
[[rules]]
name = "bad_compare"
trigger = { type = "event", name = "temperature" }
conditions = [{ type = "expr", expr = "payload.celsius > 'warm'" }]
actions = [{ type = "alert", kind = "x", title = "x" }]
""")
    assert temp(core, "fridge-1", 9.0) == []
    stats = core.rules["bad_compare"].stats
    assert (stats.evaluations, stats.errors, stats.fires) == (1, 1, 0)
    assert stats.seconds > 0


def test_store_state_conditions() -> None:
    core = core_with("""
[[rules]]
name = "restock_when_staffed"
trigger = { type = "stock" }
conditions = [
  { type = "stock", low = true },
  { type = "presence", device = "door-in", online = true },
  { type = "expr", expr = "flag('staffed') and stock(item, zone) < 3" },
]
actions = [{ type = "alert", kind = "low_stock", title = "{item}", key = "low:{item}:{zone}" }]
""")
    store = core.store
    assert isinstance(store, MemoryStore)
    store.levels[("milk", "dairy")] = StockLevel(item="milk", zone="dairy", qty=2, safe=5)
    occ = Occurrence("stock", "milk@dairy", {"item": "milk", "zone": "dairy", "level": 2.0})
    assert core.handle(occ) == []  # door-in presence unknown
    store.presence["door-in"] = True
    assert core.handle(occ) == []  # not staffed
    store.flags["staffed"] = True
    assert len(core.handle(occ)) == 1


def test_manual_runs_check_conditions_unless_skipped() -> None:
    core = core_with("""
[[rules]]
name = "release_all"
trigger = { type = "manual" }
conditions = [{ type = "flag", name = "emergency" }]
[[rules.actions]]
type = "command"
device = "*"
kind = "door"
name = "release"
args = { reason = "x" }
""")
    assert core.manual("release_all", {"by": "api"}) is None
    firing = core.manual("release_all", {"by": "api"}, skip_conditions=True)
    assert firing is not None and firing.reason == "manual" and firing.scope.vars["by"] == "api"
    steps = firing.rule.rule.actions[0].plan(firing.scope)
    assert [s.device for s in steps if isinstance(s, CommandStep)] == ["door-in", "door-out"]
    with pytest.raises(KeyError):
        core.manual("nope")


INDEXED = """
[[rules]]
name = "fridge_1_warm"
trigger = { type = "event", name = "temperature" }
conditions = [{ type = "expr", expr = "device == 'fridge-1' and payload.celsius > 8" }]
actions = [{ type = "alert", kind = "x", title = "x" }]

[[rules]]
name = "dairy_warm"
trigger = { type = "event", name = "temperature" }
conditions = [{ type = "compare", field = "zone", op = "==", value = "dairy" },
              { type = "expr", expr = "payload.celsius > 20" }]
actions = [{ type = "alert", kind = "x", title = "x" }]

[[rules]]
name = "fridge_2_trigger"
trigger = { type = "event", name = "temperature", device = "fridge-2" }
conditions = [{ type = "expr", expr = "payload.celsius > 8" }]
actions = [{ type = "alert", kind = "x", title = "x" }]

[[rules]]
name = "any_warm"
trigger = { type = "event", name = "temperature" }
conditions = [{ type = "expr", expr = "payload.celsius > 30 or device == 'freezer-1'" }]
actions = [{ type = "alert", kind = "x", title = "x" }]
"""


def test_rules_requiring_a_literal_are_evaluated_only_for_it() -> None:
    core = core_with(INDEXED)
    fired = [f.rule.name for f in temp(core, "fridge-2", 35.0)]
    assert sorted(fired) == ["any_warm", "dairy_warm", "fridge_2_trigger"]
    stats = {name: r.stats.evaluations for name, r in core.rules.items()}
    assert stats == {"fridge_1_warm": 0, "dairy_warm": 1, "fridge_2_trigger": 1, "any_warm": 1}
    fired = [f.rule.name for f in temp(core, "freezer-1", 9.0)]  # zone "frozen"
    assert fired == ["any_warm"]
    assert core.rules["fridge_2_trigger"].stats.evaluations == 1


def test_the_index_changes_no_outcome() -> None:
    import random

    rng = random.Random(7)
    clock = Clock()
    indexed = core_with(INDEXED + FRIDGE, clock)
    linear = Evaluator(indexed.store, clock=clock, store_id="s1", index_values=False)
    linear.load(rules(INDEXED + FRIDGE))
    devices = ["fridge-1", "fridge-2", "freezer-1", "door-in", "ghost"]
    for _ in range(500):
        device, celsius = rng.choice(devices), rng.choice([-20, 4, 9, 21, 35])
        a = sorted(f.rule.name for f in temp(indexed, device, celsius))
        b = sorted(f.rule.name for f in temp(linear, device, celsius))
        assert a == b
        clock.advance(rng.choice([0, 60, 400]))
        assert sorted(f.rule.name for f in indexed.due()) == sorted(
            f.rule.name for f in linear.due()
        )
    assert indexed.stats["fridge_too_warm"].fires == linear.stats["fridge_too_warm"].fires > 0


def test_for_rules_are_not_indexed_they_must_see_what_does_not_hold() -> None:
    clock = Clock()
    core = core_with(
        """
[[rules]]
name = "zone_warm"
trigger = { type = "event", name = "temperature" }
conditions = [{ type = "expr", expr = "zone == 'dairy' and payload.celsius > 8" }]
key = "{zone}"
for = "1m"
actions = [{ type = "alert", kind = "x", title = "x" }]
""",
        clock,
    )
    temp(core, "fridge-1", 9.0)
    temp(core, "fridge-2", 4.0)  # same zone, back in range: cancels the zone's timer
    clock.advance(60)
    assert core.due() == []


def test_unhashable_values_do_not_break_the_index() -> None:
    core = core_with(INDEXED)
    occ = event("fridge-1", "temperature", celsius=9.0)
    occ.vars["zone"] = ["not", "hashable"]
    assert [f.rule.name for f in core.handle(occ)] == ["fridge_1_warm"]


def test_listens_only_for_what_rules_select() -> None:
    core = core_with(FRIDGE + DEBOUNCE)
    assert core.listens("event", "temperature") and core.listens("event", "queue")
    assert not core.listens("event", "reads") and not core.listens("flag", "emergency")
    core.load(rules(FRIDGE.replace(', name = "temperature"', "")))
    assert core.listens("event", "reads")  # a trigger without a name takes every event
