"""Triggers: what starts a rule.  One pydantic model per kind, ``type`` the tag.

The engine turns every bus event into an :class:`Occurrence` (a source, a
subject and context variables); a trigger *selects* the occurrences it is about
(``device = "fridge-*"``) and says whether one *holds* the state it waits for
(``online = false``).  The difference matters for ``for``: an occurrence that is
selected but does not hold (the fridge's device comes back online) cancels a
pending timer.

Patterns are shell globs (``door-*``, ``kiosk-?``) matched on whole values.
"""

from __future__ import annotations

import fnmatch
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from hub.events import AlertChanged, BusEvent, DeviceEvent, PresenceChanged, Severity
from hub.inventory import StockChanged
from hub.state import FlagChanged, FlagValue
from rules.schedule import Cron, Duration
from rules.scope import StoreView

#: Context variables every rule gets, whatever its trigger.
COMMON_VARS = frozenset({"rule", "trigger", "now", "store"})
_ZERO = timedelta(0)


@dataclass(slots=True)
class Occurrence:
    """Something that happened, as the rules see it."""

    source: str  # event | presence | alert | flag | stock | schedule | manual
    #: What ``for``/debounce/throttle/count track by default: the device, the flag, ...
    subject: str
    vars: dict[str, Any] = field(default_factory=dict)
    #: The event's or flag's name: the core indexes rules by it.
    name: str | None = None


def source_of(event: BusEvent) -> tuple[str, str | None] | None:
    """The (source, name) an event's occurrence would have, without building it: the
    engine asks the core first whether any rule listens (a payload dump is not free)."""
    if isinstance(event, DeviceEvent):
        return "event", event.name
    if isinstance(event, PresenceChanged):
        return "presence", None
    if isinstance(event, AlertChanged):
        return "alert", event.alert.kind
    if isinstance(event, FlagChanged):
        return "flag", event.name
    if isinstance(event, StockChanged):
        return "stock", event.item
    return None


def occurrence_of(event: BusEvent, store: StoreView) -> Occurrence | None:
    """A bus event → the occurrence rules see (None: nothing rules react to)."""
    if isinstance(event, DeviceEvent):
        info = store.device(event.device)
        return Occurrence(
            "event",
            event.device,
            {
                "device": event.device,
                "kind": event.kind,
                "zone": event.zone,
                "role": info.role if info else None,
                "name": event.name,
                "seq": event.seq,
                "ts": event.ts,
                "payload": event.payload.model_dump(mode="json"),
            },
            event.name,
        )
    if isinstance(event, PresenceChanged):
        info = store.device(event.device)
        return Occurrence(
            "presence",
            event.device,
            {
                "device": event.device,
                "kind": event.kind,
                "zone": event.zone,
                "role": info.role if info else None,
                "online": event.online,
                "reason": event.reason,
                "may_sleep": info.may_sleep if info else False,
            },
        )
    if isinstance(event, AlertChanged):
        a = event.alert
        return Occurrence(
            "alert",
            a.key,
            {
                "alert": a.model_dump(mode="json"),
                "change": event.change,
                "device": a.device,
                "zone": a.zone,
            },
            a.kind,
        )
    if isinstance(event, FlagChanged):
        return Occurrence(
            "flag",
            event.name,
            {
                "flag": event.name,
                "value": event.value,
                "old": event.old,
                "by": event.by,
            },
            event.name,
        )
    if isinstance(event, StockChanged):
        return Occurrence(
            "stock",
            f"{event.item}@{event.zone}",
            {
                "item": event.item,
                "zone": event.zone,
                "level": event.qty,
                "old": event.old,
                "safe": event.safe,
                "reason": event.reason,
                "low": event.safe is not None and event.qty <= event.safe,
            },
            event.item,
        )
    return None


Matcher = Callable[[Any], bool]
Change = Literal["raised", "repeated", "acknowledged", "resolved", "updated"]


def _matcher(pattern: str) -> Matcher:
    if not any(c in pattern for c in "*?["):
        return lambda value: value == pattern
    regex = re.compile(fnmatch.translate(pattern))
    return lambda value: isinstance(value, str) and regex.match(value) is not None


class Trigger(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str
    #: The occurrence source this trigger listens to.
    source: ClassVar[str]
    #: The context variables its occurrences carry (None: any, for manual runs).
    vars: ClassVar[frozenset[str] | None]
    #: Fields that are glob patterns over the occurrence variable of the same name.
    patterns: ClassVar[tuple[str, ...]] = ()
    _checks: list[tuple[str, Matcher]] = PrivateAttr(default_factory=list)

    def model_post_init(self, context: Any) -> None:
        for name in self.patterns:
            pattern = getattr(self, name)
            if pattern is not None:
                self._checks.append((self._var(name), _matcher(pattern)))

    def _var(self, field_name: str) -> str:
        return field_name

    def selects(self, occ: Occurrence) -> bool:
        v = occ.vars
        return all(check(v.get(name)) for name, check in self._checks)

    def selector(self) -> Callable[[Occurrence], bool]:
        """:meth:`selects` as a plain closure, for the core's hot loop (pydantic's private
        attributes are slow to reach)."""
        checks = list(self._checks)
        if not checks:
            return lambda occ: True
        if len(checks) == 1:
            [(name, check)] = checks
            return lambda occ: check(occ.vars.get(name))
        return lambda occ: all(check(occ.vars.get(name)) for name, check in checks)

    def holds(self, occ: Occurrence) -> bool:
        return True

    @property
    def filters(self) -> bool:
        """Whether :meth:`holds` can be false (the core skips calling it otherwise)."""
        return type(self).holds is not Trigger.holds

    def index(self) -> str | None:
        """An exact name occurrences must have (the core's index), if the trigger has one."""
        return None

    def subject_index(self) -> str | None:
        """An exact subject (device) occurrences must have, if the trigger has one."""
        return None

    def summary(self) -> str:
        parts = [
            f"{k}={v if isinstance(v, str) else json.dumps(v)}"
            for k, v in self.model_dump(mode="json", exclude={"type"}).items()
            if v is not None and v != []
        ]
        return f"{self.type}({', '.join(parts)})" if parts else self.type


def _exact(pattern: str | None) -> str | None:
    return pattern if pattern is not None and not any(c in pattern for c in "*?[") else None


class EventTrigger(Trigger):
    """A device event: ``{type="event", kind="kiosk", name="help"}``."""

    type: Literal["event"]
    source: ClassVar[str] = "event"
    vars: ClassVar[frozenset[str] | None] = frozenset(
        {"device", "kind", "zone", "role", "name", "seq", "ts", "payload"}
    )
    patterns: ClassVar[tuple[str, ...]] = ("name", "kind", "device", "zone")

    name: str | None = None
    kind: str | None = None
    device: str | None = None
    zone: str | None = None

    def index(self) -> str | None:
        return _exact(self.name)

    def subject_index(self) -> str | None:
        return _exact(self.device)


class PresenceTrigger(Trigger):
    """A device going online or offline: ``{type="presence", online=false}``."""

    type: Literal["presence"]
    source: ClassVar[str] = "presence"
    vars: ClassVar[frozenset[str] | None] = frozenset(
        {"device", "kind", "zone", "role", "online", "reason", "may_sleep"}
    )
    patterns: ClassVar[tuple[str, ...]] = ("device", "kind", "zone")

    device: str | None = None
    kind: str | None = None
    zone: str | None = None
    #: The state waited for; None = any change.
    online: bool | None = None

    def holds(self, occ: Occurrence) -> bool:
        return self.online is None or occ.vars.get("online") is self.online

    def subject_index(self) -> str | None:
        return _exact(self.device)


class AlertTrigger(Trigger):
    """A staff alert raised (or acknowledged, resolved, ...): chain rules on alerts."""

    type: Literal["alert"]
    source: ClassVar[str] = "alert"
    vars: ClassVar[frozenset[str] | None] = frozenset({"alert", "change", "device", "zone"})
    patterns: ClassVar[tuple[str, ...]] = ("kind", "device", "zone")

    kind: str | None = None
    device: str | None = None
    zone: str | None = None
    change: list[Change] = Field(default_factory=lambda: list[Change](["raised"]), min_length=1)
    severity: list[Severity] | None = None

    def model_post_init(self, context: Any) -> None:
        super().model_post_init(context)
        if self.kind is not None:  # the kind lives in the alert, not at the top level
            check = _matcher(self.kind)
            self._checks = [(n, c) for n, c in self._checks if n != "kind"]
            self._checks.append(("alert", lambda a: isinstance(a, dict) and check(a.get("kind"))))

    def holds(self, occ: Occurrence) -> bool:
        v = occ.vars
        if v.get("change") not in self.change:
            return False
        return self.severity is None or v.get("alert", {}).get("severity") in self.severity

    def index(self) -> str | None:
        return _exact(self.kind)


class FlagTrigger(Trigger):
    """A state flag changed: ``{type="flag", name="emergency", to=true}``."""

    type: Literal["flag"]
    source: ClassVar[str] = "flag"
    vars: ClassVar[frozenset[str] | None] = frozenset({"flag", "value", "old", "by"})
    patterns: ClassVar[tuple[str, ...]] = ("name",)

    name: str
    #: The value waited for; None = any change.
    to: FlagValue = None

    def _var(self, field_name: str) -> str:
        return "flag"

    def holds(self, occ: Occurrence) -> bool:
        value = occ.vars.get("value")
        return self.to is None or (value == self.to and type(value) is type(self.to))

    def index(self) -> str | None:
        return _exact(self.name)


class StockTrigger(Trigger):
    """A stock level changed: ``{type="stock", zone="dairy"}``."""

    type: Literal["stock"]
    source: ClassVar[str] = "stock"
    vars: ClassVar[frozenset[str] | None] = frozenset(
        {"item", "zone", "level", "old", "safe", "reason", "low"}
    )
    patterns: ClassVar[tuple[str, ...]] = ("item", "zone")

    item: str | None = None
    zone: str | None = None

    def index(self) -> str | None:
        return _exact(self.item)


class ScheduleTrigger(Trigger):
    """Time: ``{type="schedule", cron="0 8 * * mon-fri"}`` or ``{type="schedule", every="5m"}``,
    in the store's timezone (intervals are aligned to local midnight)."""

    type: Literal["schedule"]
    source: ClassVar[str] = "schedule"
    vars: ClassVar[frozenset[str] | None] = frozenset()

    every: Duration | None = Field(default=None, ge=1)
    cron: str | None = None
    _cron: Cron | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _one_of(self) -> ScheduleTrigger:
        if (self.every is None) == (self.cron is None):
            raise ValueError("a schedule needs exactly one of 'every' or 'cron'")
        if self.cron is not None:
            self._cron = Cron(self.cron)
        return self

    def next_after(self, ts: float, tz: tzinfo) -> float:
        if self._cron is not None:
            return self._cron.next_after(ts, tz)
        assert self.every is not None
        offset = (datetime.fromtimestamp(ts, tz).utcoffset() or _ZERO).total_seconds()
        local = ts + offset
        return (math.floor(local / self.every) + 1) * self.every - offset


class ManualTrigger(Trigger):
    """No trigger of its own: run by another rule's ``run_rule``, the API or the CLI."""

    type: Literal["manual"]
    source: ClassVar[str] = "manual"
    vars: ClassVar[frozenset[str] | None] = None


AnyTrigger = Annotated[
    EventTrigger
    | PresenceTrigger
    | AlertTrigger
    | FlagTrigger
    | StockTrigger
    | ScheduleTrigger
    | ManualTrigger,
    Field(discriminator="type"),
]
