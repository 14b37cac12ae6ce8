"""Request and response models of the store API (what ``/docs`` shows)."""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hub.auth import Scope
from hub.events import AlertStatus, Severity

T = TypeVar("T")


class Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class In(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FieldError(Out):
    loc: list[str | int]
    msg: str


class Problem(Out):
    """Every 4xx/5xx answer: what went wrong, in words (and, for a bad request, each field)."""

    detail: str = Field(examples=["token 'floor-1' lacks the 'admin' scope"])
    errors: list[FieldError] | None = None


class Page(Out, Generic[T]):
    items: list[T]
    next: int | None = Field(
        description="Cursor of the next page: pass it as `before_id` (newest-first pages) or "
        "`after_id` (oldest-first pages); null when this is the last page."
    )


# -- system --------------------------------------------------------------------


class Health(Out):
    status: Literal["ok"] = "ok"


class Ready(Out):
    ready: bool
    hub_ready: bool
    mqtt_connected: bool


class HubStatus(Out):
    store: str
    version: str
    ready: bool
    uptime: float
    broker: str
    managed_broker: bool
    mqtt_connected: bool
    mqtt_reconnects: int
    journal_depth: int
    devices: int
    devices_online: int


class Me(Out):
    name: str
    scopes: list[Scope]
    commands: list[str] = Field(
        description="Commands this token may send, as `kind/command`; `*` = any"
    )
    alerts: bool = Field(description="Whether this token may acknowledge/resolve/assign alerts")
    admin: bool


# -- devices -------------------------------------------------------------------

DeviceStatus = Literal["online", "offline", "asleep", "unknown"]


class DeviceOut(Out):
    id: str
    kind: str
    name: str | None
    zone: str | None
    role: str | None
    may_sleep: bool
    online: bool | None = Field(description="null: never heard of since configured")
    status: DeviceStatus = Field(description="offline devices that may sleep are `asleep`")
    since: float | None = Field(description="When presence last changed (epoch s)")
    last_seen: float | None
    model: str | None
    fw: str | None


class DeviceDetail(DeviceOut):
    config: dict[str, Any]
    commands: list[str] = Field(description="Commands this kind takes")
    events: list[str] = Field(description="Events this kind sends")


class PresenceOut(Out):
    id: int
    ts: float
    online: bool
    reason: str


class CommandRequest(In):
    args: dict[str, Any] = Field(
        default_factory=dict,
        description="The command's arguments (see the kind's README)",
        examples=[{"seconds": 5}],
    )
    ttl: float | None = Field(
        default=None,
        gt=0,
        le=300,
        description="Seconds the device may still act on it (default: the hub's `commands.ttl_s`)",
    )

    @field_validator("args")
    @classmethod
    def _no_envelope(cls, args: dict[str, Any]) -> dict[str, Any]:
        taken = {"id", "ts", "expires", "ttl"} & set(args)
        if taken:
            raise ValueError(f"{', '.join(sorted(taken))} are set by the hub, not in args")
        return args


# -- journal, events, dead letters ---------------------------------------------


class JournalOut(Out):
    id: int
    type: str = Field(description="event | state | command | reply | alert")
    ts: float
    received: float
    device: str | None
    name: str | None
    seq: int | None
    data: Any


class DeadLetterOut(Out):
    id: int
    ts: float
    topic: str
    device: str | None
    reason: str
    detail: str
    size: int
    head: str = Field(description="The payload's first bytes (UTF-8, lossy)")


class DeadLetterCount(Out):
    device: str | None
    reason: str
    count: int
    last: float


# -- alerts --------------------------------------------------------------------


class NoteOut(Out):
    ts: float
    author: str
    text: str


class AlertOut(Out):
    id: str
    ts: float = Field(description="When it was raised")
    updated: float
    severity: Severity
    kind: str
    title: str
    device: str | None
    zone: str | None
    data: dict[str, Any]
    status: AlertStatus
    key: str = Field(description="De-duplication key: one live alert per key")
    count: int = Field(description="How many times it was raised while live")
    acked_by: str | None = None
    acked_at: float | None = None
    resolved_at: float | None = None
    resolved_by: str | None = None
    assignee: str | None = None
    escalated_to: str | None = None
    escalated_at: float | None = None
    notes: list[NoteOut] = Field(default_factory=list)


class AlertPage(Out):
    items: list[AlertOut]
    next: float | None = Field(
        description="Pass as `before` for the next (older) page; null on the last page"
    )


class AssignRequest(In):
    assignee: str | None = Field(
        max_length=64,
        description="Who takes it (a staff member's name); null = unassign",
        examples=["li.wei"],
    )


class NoteRequest(In):
    text: str = Field(min_length=1, max_length=2000, examples=["Customer helped, till restarted"])


# -- rules ---------------------------------------------------------------------


class RuleOut(Out):
    """A rule as the rules engine describes it (its extra fields pass through)."""

    model_config = ConfigDict(frozen=True, extra="allow")

    name: str
    file: str | None = None
    enabled: bool
    mode: str | None = None
    trigger: Any = None
    stats: Any = None


class ReloadOut(Out):
    ok: bool
    rules: int
    errors: list[str]


M = TypeVar("M", bound=BaseModel)


def page(model: type[M], rows: list[dict[str, Any]], limit: int) -> Page[M]:
    """``rows`` fetched with ``limit + 1``: the extra row only says there is more."""
    items = [model.model_validate(r) for r in rows[:limit]]
    return Page(items=items, next=rows[limit - 1]["id"] if len(rows) > limit else None)
