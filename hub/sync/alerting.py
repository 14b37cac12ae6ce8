"""What sync needs of the hub's alerts: a narrow seam, so the engine also runs
outside a hub (``storehub sync push-now``, the benchmark, the crash tests)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

from hub.events import Severity

log = logging.getLogger("storehub.sync")


class AlertSink(Protocol):
    """Satisfied by :class:`hub.alerts.Alerts`."""

    async def raise_(
        self,
        kind: str,
        severity: Severity,
        title: str,
        *,
        data: dict[str, Any] | None = None,
        key: str | None = None,
    ) -> object: ...

    async def resolve(self, *, key: str | None = None) -> object: ...


@dataclass(slots=True)
class RaisedAlert:
    kind: str
    severity: Severity
    title: str
    data: dict[str, Any]
    key: str


@dataclass(slots=True)
class LogAlerts:
    """Alerts for a process without a hub: logged, and kept for whoever asks (tests)."""

    raised: list[RaisedAlert] = field(default_factory=list)
    live: dict[str, RaisedAlert] = field(default_factory=dict)

    async def raise_(
        self,
        kind: str,
        severity: Severity,
        title: str,
        *,
        data: dict[str, Any] | None = None,
        key: str | None = None,
    ) -> RaisedAlert:
        alert = RaisedAlert(kind, severity, title, data or {}, key or kind)
        self.raised.append(alert)
        self.live[alert.key] = alert
        log.log(
            logging.ERROR if severity == "critical" else logging.WARNING,
            "alert %s %s: %s %s",
            severity,
            kind,
            title,
            alert.data,
        )
        return alert

    async def resolve(self, *, key: str | None = None) -> RaisedAlert | None:
        return self.live.pop(key or "", None)

    def kinds(self) -> list[str]:
        return [a.kind for a in self.raised]
