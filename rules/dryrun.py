"""The dry run behind ``storehub rules test``: would this rule fire on this event, and
what would it do?  Nothing is sent, raised or written.

The event is given as JSON, in the shape of the occurrence it stands for::

    {"device": "kiosk-1", "name": "help"}                         # a device event
    {"device": "fridge-1", "name": "temperature", "payload": {"celsius": 9.5}}
    {"type": "presence", "device": "door-in", "online": false}
    {"type": "flag", "flag": "emergency", "value": true}
    {"type": "stock", "item": "milk-1l", "zone": "dairy", "level": 2, "safe": 5}
    {"type": "alert", "kind": "door_forced", "severity": "critical", "device": "door-in"}
    {"type": "schedule"}  /  {"type": "manual", ...any variables}

A device event's payload is checked with the device kind's codec, as the hub
would, so a misspelt field shows up here rather than as a rule that never fires.
"""

from __future__ import annotations

import json
import math
from typing import Any

from pydantic import BaseModel

from devices import drivers
from hub.errors import PayloadError
from hub.events import Alert, AlertChanged, DeviceEvent, PresenceChanged
from hub.inventory import StockChanged
from hub.state import FlagChanged
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
from rules.errors import RuleError
from rules.model import LoadedRule
from rules.scope import MemoryStore, Scope
from rules.triggers import Occurrence, occurrence_of


class ConditionResult(BaseModel):
    condition: str
    holds: bool | None  # None: not evaluated (an earlier one failed)
    error: str | None = None


class DryRun(BaseModel):
    rule: str
    file: str
    mode: str
    enabled: bool
    selected: bool
    trigger_holds: bool
    conditions: list[ConditionResult]
    fires: bool
    verdict: str
    steps: list[str]


class EventError(RuleError):
    """The ``--event`` JSON does not describe an occurrence."""


def occurrence_from_json(data: dict[str, Any], default_type: str, store: MemoryStore) -> Occurrence:
    kind = str(data.get("type", default_type))
    now = store.now()
    try:
        if kind == "event":
            return _device_event(data, store, now)
        if kind == "presence":
            info = store.device(str(data["device"]))
            event: Any = PresenceChanged(
                device=data["device"],
                kind=data.get("kind", info.kind if info else "?"),
                zone=data.get("zone", info.zone if info else None),
                online=data.get("online", False),
                ts=now,
                reason=data.get("reason", "dry_run"),
            )
        elif kind == "flag":
            event = FlagChanged(
                name=data.get("flag", data.get("name")),
                value=data.get("value"),
                old=data.get("old"),
                by=data.get("by", "dry_run"),
                ts=now,
            )
        elif kind == "stock":
            event = StockChanged(
                item=data["item"],
                zone=data.get("zone", ""),
                qty=data.get("level", data.get("qty", 0)),
                old=data.get("old"),
                safe=data.get("safe"),
                reason=data.get("reason", "dry_run"),
                ts=now,
            )
        elif kind == "alert":
            alert = Alert(
                id="dry-run",
                ts=now,
                severity=data.get("severity", "warning"),
                kind=data["kind"],
                title=data.get("title", data["kind"]),
                device=data.get("device"),
                zone=data.get("zone"),
                data=data.get("data", {}),
                key=data.get("key", ""),
            )
            event = AlertChanged(change=data.get("change", "raised"), alert=alert)
        elif kind in ("schedule", "manual"):
            fields = {k: v for k, v in data.items() if k != "type"}
            return Occurrence(kind, "", fields)
        else:
            raise EventError(f"unknown event type {kind!r}")
    except KeyError as exc:
        raise EventError(f"a {kind} event needs {exc.args[0]!r}") from None
    except ValueError as exc:  # pydantic's ValidationError
        raise EventError(f"not a valid {kind} event: {exc}") from None
    occ = occurrence_of(event, store)
    assert occ is not None
    return occ


def _device_event(data: dict[str, Any], store: MemoryStore, now: float) -> Occurrence:
    device, name = data.get("device"), data.get("name")
    if not isinstance(device, str) or not isinstance(name, str):
        raise EventError('a device event needs "device" and "name"')
    info = store.device(device)
    kind = data.get("kind", info.kind if info else None)
    if kind is None:
        raise EventError(f'device {device!r} is not in the store config: give its "kind"')
    body = {"ts": now, "seq": 1, **data.get("payload", {})}
    driver = drivers().get(kind)
    payload: BaseModel
    if driver is not None:
        try:
            payload = driver.codec.decode_event(name, json.dumps(body).encode())
        except PayloadError as exc:
            raise EventError(f"the hub would reject this {kind} event: {exc}") from None
    else:
        payload = _Loose.model_validate(body)
    event = DeviceEvent(
        device=device,
        kind=kind,
        zone=data.get("zone", info.zone if info else None),
        name=name,
        seq=1,
        ts=now,
        received=now,
        payload=payload,
    )
    occ = occurrence_of(event, store)
    assert occ is not None
    return occ


class _Loose(BaseModel):
    model_config = {"extra": "allow"}


def explain(
    loaded: LoadedRule, occ: Occurrence, store: MemoryStore, *, store_id: str = ""
) -> DryRun:
    rule = loaded.rule
    vars = {
        **occ.vars,
        "rule": rule.name,
        "trigger": occ.source,
        "now": store.now(),
        "store": store_id,
    }
    scope = Scope(vars, store)
    trigger = rule.trigger
    manual = trigger.source == "manual"
    selected = manual or (trigger.source == occ.source and trigger.selects(occ))
    holds = manual or (selected and trigger.holds(occ))
    results: list[ConditionResult] = []
    ok = holds
    for c in rule.conditions:
        label = c.model_dump_json(exclude={"type"}) if c.type != "expr" else getattr(c, "expr", "")
        if not ok:
            results.append(ConditionResult(condition=f"{c.type} {label}", holds=None))
            continue
        try:
            ok = c.check(scope)
            results.append(ConditionResult(condition=f"{c.type} {label}", holds=ok))
        except Exception as exc:
            ok = False
            results.append(
                ConditionResult(condition=f"{c.type} {label}", holds=False, error=str(exc))
            )
    verdict, fires = _verdict(loaded, selected, holds, ok, occ)
    steps = [_describe(s) for a in rule.actions for s in a.plan(scope)] if fires else []
    return DryRun(
        rule=rule.name,
        file=str(loaded.file),
        mode=rule.mode,
        enabled=rule.enabled,
        selected=selected,
        trigger_holds=holds,
        conditions=results,
        fires=fires,
        verdict=verdict,
        steps=steps,
    )


def _verdict(
    loaded: LoadedRule, selected: bool, holds: bool, ok: bool, occ: Occurrence
) -> tuple[str, bool]:
    r = loaded.rule
    if not selected:
        return (
            f"does not fire: its {r.trigger.summary()} trigger does not select this {occ.source}",
            False,
        )
    if not holds:
        return f"does not fire: the {r.trigger.type} trigger's state does not hold", False
    if not ok:
        return "does not fire: a condition does not hold", False
    notes = [] if r.enabled else ["(the rule is disabled in its file)"]
    if r.throttle:
        notes.append(f"at most once per {_secs(r.throttle)} per key")
    tail = f" — {'; '.join(notes)}" if notes else ""
    if r.for_:
        return f"would fire after {_secs(r.for_)} if it still holds then{tail}", True
    if r.debounce:
        return f"would fire after {_secs(r.debounce)} without another such event{tail}", True
    if r.count:
        return (
            f"counts towards {r.count.at_least} within {_secs(r.count.within)}; fires on "
            f"the {r.count.at_least}th{tail}"
        ), True
    return f"would fire now ({r.mode} mode){tail}", True


def _secs(seconds: float) -> str:
    if seconds >= 60 and math.isclose(seconds % 60, 0):
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


def _describe(step: Step) -> str:
    if isinstance(step, CommandStep):
        ttl = f" ttl={step.ttl:g}s" if step.ttl else ""
        return f"command {step.name} → {step.device} {json.dumps(step.args)}{ttl}"
    if isinstance(step, AlertStep):
        return (
            f"alert {step.severity} {step.kind}: {step.title!r} device={step.device} "
            f"zone={step.zone} key={step.key or 'default'} data={json.dumps(step.data)}"
        )
    if isinstance(step, ResolveStep):
        return f"resolve alert {step.key}" + (
            f" (notify {step.notify[1]!r})" if step.notify else ""
        )
    if isinstance(step, WebhookStep):
        return (
            f"webhook {step.method} {step.url} body={json.dumps(step.body, default=str)} "
            f"timeout={step.timeout:g}s retries={step.retries}"
        )
    if isinstance(step, FlagStep):
        return f"set flag {step.name} = {json.dumps(step.value)}"
    if isinstance(step, RunRuleStep):
        return f"run rule {step.rule}" + (
            " (skipping its conditions)" if step.skip_conditions else ""
        )
    if isinstance(step, DelayStep):
        return f"wait {_secs(step.seconds)}"
    return repr(step)
