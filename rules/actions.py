"""Actions: what a fired rule does.  One pydantic model per kind, ``type`` the tag.

An action first *plans* — fills its templates from the context and expands a
device pattern into devices, with no side effect — into :data:`Step` values;
the engine then executes each step through the hub's services (commands,
alerts, webhooks, flags).  The dry run (``storehub rules test``) prints the
plan and stops there.  Actions are planned when the run reaches them, so a step
after a ``delay`` sees the store as it is then.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from devices import drivers
from hub.errors import CommandError
from hub.events import Severity
from hub.state import FLAG_NAME, FlagValue
from rules.schedule import Duration
from rules.scope import Scope, select_devices
from rules.template import Render, Template, compile_value, template

# -- steps: a plan, concrete and printable -------------------------------------


@dataclass(frozen=True, slots=True)
class CommandStep:
    device: str
    name: str
    args: dict[str, Any]
    ttl: float | None


@dataclass(frozen=True, slots=True)
class AlertStep:
    kind: str
    severity: Severity
    title: str
    device: str | None
    zone: str | None
    data: dict[str, Any]
    key: str | None


@dataclass(frozen=True, slots=True)
class ResolveStep:
    key: str
    notify: tuple[str, str] | None


@dataclass(frozen=True, slots=True)
class WebhookStep:
    url: str
    method: str
    body: Any
    headers: dict[str, str]
    timeout: float
    retries: int


@dataclass(frozen=True, slots=True)
class FlagStep:
    name: str
    value: FlagValue


@dataclass(frozen=True, slots=True)
class RunRuleStep:
    rule: str
    skip_conditions: bool


@dataclass(frozen=True, slots=True)
class DelayStep:
    seconds: float


Step = CommandStep | AlertStep | ResolveStep | WebhookStep | FlagStep | RunRuleStep | DelayStep


class Services(Protocol):
    """What executing a step needs; the engine adapts the hub to it, tests fake it.
    Each returns whether the step succeeded."""

    async def execute(self, step: Step, vars: dict[str, Any]) -> bool: ...


# -- action models --------------------------------------------------------------


class Action(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str

    def plan(self, scope: Scope) -> list[Step]:
        raise NotImplementedError

    def names(self) -> set[str]:
        """Context variables its templates read (checked when the file is loaded)."""
        return set()


def _opt(template: Template | None, vars: dict[str, Any], default: Any) -> str | None:
    if template is None:
        return default if isinstance(default, str) else None
    text = template.text(vars)
    return text or None


class CommandAction(Action):
    """``{type="command", device="*", kind="door", name="release", args={reason="fire"}}``:
    ``device`` is a template and then a glob over the store's devices (``kind``/``zone``
    narrow it), so one action can address every door."""

    type: Literal["command"]
    device: str = "{device}"
    kind: str | None = None
    zone: str | None = None
    name: str
    args: dict[str, Any] = Field(default_factory=dict)
    ttl: Duration | None = Field(default=None, gt=0)
    _device: Template = PrivateAttr()
    _args: Render = PrivateAttr()
    _names: set[str] = PrivateAttr()

    @model_validator(mode="after")
    def _build(self) -> CommandAction:
        self._device = template("device", self.device)
        self._args, names = compile_value(self.args)
        self._names = names | self._device.names
        # Static arguments of a known kind are checked now, not when the fridge is warm.
        driver = drivers().get(self.kind) if self.kind else None
        if self.kind is not None and driver is None:
            raise ValueError(f"kind: unknown device kind {self.kind!r}")
        if driver is not None and not names:
            try:
                driver.codec.build_command(self.name, self.args)
            except CommandError as exc:
                raise ValueError(f"args: {exc}") from None
        return self

    def plan(self, scope: Scope) -> list[Step]:
        pattern = self._device.text(scope.vars)
        args = self._args(scope.vars)
        return [
            CommandStep(d, self.name, args, self.ttl)
            for d in select_devices(scope.store, pattern, kind=self.kind, zone=self.zone)
        ]

    def names(self) -> set[str]:
        return self._names


class AlertAction(Action):
    """Raise a staff alert.  ``device``/``zone`` default to the occurrence's; ``key``
    (de-duplication) defaults to ``kind:device:zone``."""

    type: Literal["alert"]
    kind: str = Field(pattern=r"^[a-z0-9][a-z0-9_]{0,62}$")
    severity: Severity = "warning"
    title: str
    device: str | None = None
    zone: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    key: str | None = None
    _t: dict[str, Template | None] = PrivateAttr()
    _data: Render = PrivateAttr()
    _names: set[str] = PrivateAttr()

    @model_validator(mode="after")
    def _build(self) -> AlertAction:
        self._t = {
            f: (template(f, v) if v is not None else None)
            for f, v in (
                ("title", self.title),
                ("device", self.device),
                ("zone", self.zone),
                ("key", self.key),
            )
        }
        self._data, names = compile_value(self.data)
        self._names = names.union(*(t.names for t in self._t.values() if t is not None))
        return self

    def plan(self, scope: Scope) -> list[Step]:
        v, t = scope.vars, self._t
        title = t["title"]
        assert title is not None
        return [
            AlertStep(
                kind=self.kind,
                severity=self.severity,
                title=title.text(v),
                device=_opt(t["device"], v, v.get("device")),
                zone=_opt(t["zone"], v, v.get("zone")),
                data=self._data(v),
                key=_opt(t["key"], v, None),
            )
        ]

    def names(self) -> set[str]:
        return self._names


class ResolveAction(Action):
    """Resolve the live alert with ``key`` (default ``kind:device:zone``, as raised);
    ``notify`` is the title of an info message telling staff it cleared."""

    type: Literal["resolve"]
    kind: str | None = None
    device: str | None = None
    zone: str | None = None
    key: str | None = None
    notify: str | None = None
    _t: dict[str, Template | None] = PrivateAttr()

    @model_validator(mode="after")
    def _build(self) -> ResolveAction:
        if (self.kind is None) == (self.key is None):
            raise ValueError("resolve needs 'kind' (with device/zone) or 'key'")
        self._t = {
            f: (template(f, v) if v is not None else None)
            for f, v in (
                ("device", self.device),
                ("zone", self.zone),
                ("key", self.key),
                ("notify", self.notify),
            )
        }
        return self

    def plan(self, scope: Scope) -> list[Step]:
        v, t = scope.vars, self._t
        key = _opt(t["key"], v, None)
        if key is None:
            device = _opt(t["device"], v, v.get("device"))
            zone = _opt(t["zone"], v, v.get("zone"))
            key = f"{self.kind}:{device or ''}:{zone or ''}"
        notify = t["notify"]
        return [
            ResolveStep(
                key,
                (f"{self.kind or 'alert'}_cleared", notify.text(v)) if notify is not None else None,
            )
        ]

    def names(self) -> set[str]:
        return set().union(*(x.names for x in self._t.values() if x is not None))


class WebhookAction(Action):
    """Call an HTTP endpoint (through ``hub.webhooks``, with retries and a timeout).
    ``body`` is JSON with templates; by default the rule and its context."""

    type: Literal["webhook"]
    url: str
    method: Literal["POST", "PUT", "PATCH", "GET"] = "POST"
    body: dict[str, Any] | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    timeout: Duration = Field(default=5.0, gt=0, le=120)
    retries: int = Field(default=3, ge=0, le=10)
    _url: Template = PrivateAttr()
    _body: Render | None = PrivateAttr(default=None)
    _names: set[str] = PrivateAttr()

    @model_validator(mode="after")
    def _build(self) -> WebhookAction:
        if not self.url.startswith(("http://", "https://")):
            raise ValueError("url must start with http:// or https://")
        self._url = template("url", self.url)
        self._names = set(self._url.names)
        if self.body is not None:
            self._body, names = compile_value(self.body)
            self._names |= names
        return self

    def plan(self, scope: Scope) -> list[Step]:
        v = scope.vars
        body = (
            self._body(v)
            if self._body is not None
            else {k: x for k, x in v.items() if k != "store"}
        )
        return [
            WebhookStep(
                self._url.text(v),
                self.method,
                None if self.method == "GET" else body,
                dict(self.headers),
                self.timeout,
                self.retries,
            )
        ]

    def names(self) -> set[str]:
        return self._names


class FlagAction(Action):
    """Set a store state flag: ``{type="flag", name="emergency", value=true}``."""

    type: Literal["flag"]
    name: str = Field(pattern=FLAG_NAME.pattern)
    value: FlagValue = True
    _value: Template | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _build(self) -> FlagAction:
        if isinstance(self.value, str):
            self._value = template("value", self.value)
        return self

    def plan(self, scope: Scope) -> list[Step]:
        value = self._value.render(scope.vars) if self._value is not None else self.value
        if value is not None and not isinstance(value, bool | int | float | str):
            value = str(value)
        return [FlagStep(self.name, value)]

    def names(self) -> set[str]:
        return self._value.names if self._value is not None else set()


class RunRuleAction(Action):
    """Run another rule with this one's context (its conditions too, unless skipped)."""

    type: Literal["run_rule"]
    rule: str
    skip_conditions: bool = False

    def plan(self, scope: Scope) -> list[Step]:
        return [RunRuleStep(self.rule, self.skip_conditions)]


class DelayAction(Action):
    """Wait before the next action (a run mode decides what a new trigger does meanwhile)."""

    type: Literal["delay"]
    seconds: Duration = Field(le=86400)

    def plan(self, scope: Scope) -> list[Step]:
        return [DelayStep(self.seconds)]


AnyAction = Annotated[
    CommandAction
    | AlertAction
    | ResolveAction
    | WebhookAction
    | FlagAction
    | RunRuleAction
    | DelayAction,
    Field(discriminator="type"),
]
