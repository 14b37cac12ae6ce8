"""Typed events that flow on the in-process bus (pydantic v2, frozen)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny


class BusEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    #: Discriminates the event types in the journal and on the live stream.
    type: str


class DeviceEvent(BusEvent):
    """An accepted event from a device, after its kind's codec."""

    type: Literal["device_event"] = "device_event"
    device: str
    kind: str
    zone: str | None
    name: str
    seq: int | None
    ts: float
    received: float
    payload: SerializeAsAny[BaseModel]


class PresenceChanged(BusEvent):
    type: Literal["presence"] = "presence"
    device: str
    kind: str
    zone: str | None
    online: bool
    ts: float
    reason: str
    model: str | None = None
    fw: str | None = None


Outcome = Literal["ok", "rejected", "timeout", "expired", "unreachable"]


class CommandOutcome(BusEvent):
    type: Literal["command"] = "command"
    id: str
    device: str
    name: str
    args: dict[str, Any]
    outcome: Outcome
    error: str | None = None
    attempts: int = 1
    sent: float
    finished: float
    reply: dict[str, Any] = Field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"

    @property
    def latency(self) -> float:
        return self.finished - self.sent


Severity = Literal["info", "warning", "critical"]
AlertStatus = Literal["open", "acknowledged", "resolved"]


class Alert(BaseModel):
    """A staff alert; ``wire()`` is exactly the contract's payload."""

    model_config = ConfigDict(frozen=True)

    id: str
    ts: float
    severity: Severity
    kind: str
    title: str
    device: str | None = None
    zone: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    status: AlertStatus = "open"
    key: str = ""
    count: int = 1
    updated: float = 0.0
    acked_by: str | None = None
    resolved_at: float | None = None

    def wire(self) -> dict[str, Any]:
        return self.model_dump(
            include={"id", "ts", "severity", "kind", "title", "device", "zone", "data"}
        )


class AlertChanged(BusEvent):
    type: Literal["alert"] = "alert"
    change: Literal["raised", "repeated", "acknowledged", "resolved", "updated"]
    alert: Alert
