"""Staff alerts: raise, de-duplicate, acknowledge, assign, annotate, escalate, resolve.

An alert is published on ``store/{store}/alert`` (contract payload), put on
the bus, stored in ``alerts`` with its lifecycle (open → acknowledged →
resolved) and journaled with an ``alerts`` outbox row for the cloud.  While an
alert with the same key is live (not resolved), raising it again only bumps its
count: staff are not paged twice for one fault.

Staff side: an alert can be assigned to someone, carry notes (author, time)
and, left open (unacknowledged) for ``escalate_after_min`` minutes, escalates
once to a second role: its severity goes up one step and it is published again
(same id) with ``data.escalated_to``.  :meth:`Alerts.run` is the periodic loop
that does it.  Every change is journaled (``data.change`` says which) and
counted in ``storehub_alert_changes_total``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
import uuid
from collections.abc import Callable
from typing import Any, Literal

from prometheus_client import Counter
from pydantic import BaseModel, ConfigDict

from hub.bus import Bus
from hub.config import AlertConfig
from hub.events import Alert, AlertChanged, Severity
from hub.journal import Entry, Journal
from hub.metrics import Metrics

log = logging.getLogger("storehub.alerts")

Publish = Callable[[Alert], None]
BusChange = Literal["raised", "repeated", "acknowledged", "resolved", "updated"]

#: One step up on escalation; critical stays critical.
SEVERITY_UP: dict[Severity, Severity] = {
    "info": "warning",
    "warning": "critical",
    "critical": "critical",
}


class AlertNotFound(LookupError):
    """No live (unresolved) alert has this id."""


class Note(BaseModel):
    model_config = ConfigDict(frozen=True)

    ts: float
    author: str
    text: str


class StaffAlert(Alert):
    """An alert with its staff lifecycle.  ``wire()`` is unchanged: the extra
    fields stay off MQTT (``escalated_to`` goes out in ``data``)."""

    assignee: str | None = None
    acked_at: float | None = None
    escalated_to: str | None = None
    escalated_at: float | None = None
    resolved_by: str | None = None
    notes: tuple[Note, ...] = ()


class Alerts:
    def __init__(
        self,
        journal: Journal,
        bus: Bus,
        metrics: Metrics,
        publish: Publish,
        *,
        clock: Callable[[], float] = time.time,
        config: AlertConfig | None = None,
    ) -> None:
        self._journal = journal
        self._bus = bus
        self._metrics = metrics
        self._publish = publish
        self._clock = clock
        self.config = config or AlertConfig()
        self._live: dict[str, StaffAlert] = {}  # key → live alert
        # One Alerts per hub, and one registry per hub: registering here is safe.
        self.changes = Counter(
            "storehub_alert_changes_total",
            "Alert lifecycle changes",
            ["change"],
            registry=metrics.registry,
        )

    async def load(self) -> None:
        def read(c: sqlite3.Connection) -> list[StaffAlert]:
            columns = ", ".join(_COLUMNS)
            rows = c.execute(f"SELECT {columns} FROM alerts WHERE status != 'resolved'")
            alerts = [_from_row(row) for row in rows.fetchall()]
            notes: dict[str, list[Note]] = {}
            for alert_id, ts, author, text in c.execute(
                "SELECT n.alert_id, n.ts, n.author, n.text FROM alert_notes n"
                " JOIN alerts a ON a.id = n.alert_id WHERE a.status != 'resolved' ORDER BY n.id"
            ):
                notes.setdefault(alert_id, []).append(Note(ts=ts, author=author, text=text))
            return [a.model_copy(update={"notes": tuple(notes.get(a.id, ()))}) for a in alerts]

        for alert in await self._journal.call(read):
            self._live[alert.key] = alert

    def live(self) -> list[StaffAlert]:
        return sorted(self._live.values(), key=lambda a: a.ts)

    def find(self, key: str) -> StaffAlert | None:
        return self._live.get(key)

    def get(self, alert_id: str) -> StaffAlert:
        """The live alert with this id, or :class:`AlertNotFound`."""
        for alert in self._live.values():
            if alert.id == alert_id:
                return alert
        raise AlertNotFound(alert_id)

    async def raise_(
        self,
        kind: str,
        severity: Severity,
        title: str,
        *,
        device: str | None = None,
        zone: str | None = None,
        data: dict[str, Any] | None = None,
        key: str | None = None,
    ) -> StaffAlert:
        """Raise an alert, or bump the live one with the same key."""
        now = self._clock()
        key = key or f"{kind}:{device or ''}:{zone or ''}"
        current = self._live.get(key)
        if current is not None:
            bumped = current.model_copy(update={"count": current.count + 1, "updated": now})
            self._live[key] = bumped
            await self._bus.publish(AlertChanged(change="repeated", alert=bumped))
            await self._journal.call(lambda c: _update(c, bumped))
            self.changes.labels("repeated").inc()
            return bumped
        alert = StaffAlert(
            id=uuid.uuid4().hex,
            ts=now,
            updated=now,
            severity=severity,
            kind=kind,
            title=title,
            device=device,
            zone=zone,
            data=data or {},
            key=key,
        )
        self._live[key] = alert
        self._publish(alert)  # first: staff get it before we touch the disk
        self._metrics.alerts.labels(kind, severity).inc()
        self.changes.labels("raised").inc()
        await self._bus.publish(AlertChanged(change="raised", alert=alert))
        await self._journal.call(lambda c: _insert(c, alert))
        await self._journal.append(self._entry(alert, "raised"))
        log.info("alert %s %s: %s", severity, kind, title, extra={"alert": alert.id})
        return alert

    async def acknowledge(self, alert_id: str, by: str) -> StaffAlert:
        alert = self.get(alert_id)
        if alert.status != "open":
            return alert
        now = self._clock()
        acked = alert.model_copy(
            update={"status": "acknowledged", "acked_by": by, "acked_at": now, "updated": now}
        )
        await self._change(acked, "acknowledged", "acknowledged")
        return acked

    async def assign(self, alert_id: str, assignee: str | None, *, by: str) -> StaffAlert:
        """Give the alert to ``assignee`` (``None``: take it back from whoever had it)."""
        alert = self.get(alert_id)
        if alert.assignee == assignee:
            return alert
        assigned = alert.model_copy(update={"assignee": assignee, "updated": self._clock()})
        await self._change(assigned, "updated", "assigned", by=by)
        return assigned

    async def add_note(self, alert_id: str, author: str, text: str) -> StaffAlert:
        alert = self.get(alert_id)
        now = self._clock()
        note = Note(ts=now, author=author, text=text)
        noted = alert.model_copy(update={"notes": (*alert.notes, note), "updated": now})

        def write(c: sqlite3.Connection) -> None:
            c.execute(
                "INSERT INTO alert_notes(alert_id, ts, author, text) VALUES (?,?,?,?)",
                (alert.id, now, author, text),
            )

        self._live[noted.key] = noted
        await self._journal.call(write)
        await self._change(noted, "updated", "noted")
        return noted

    async def escalate_due(self) -> list[StaffAlert]:
        """Escalate every alert left open longer than ``escalate_after_min``; returns them."""
        after = self.config.escalate_after_min * 60
        if after <= 0:
            return []
        now = self._clock()
        done: list[StaffAlert] = []
        for key in list(self._live):
            alert = self._live.get(key)
            # Checked and replaced with no await between: two loops cannot both escalate it.
            if (
                alert is None
                or alert.status != "open"
                or alert.escalated_to is not None
                or now - alert.ts < after
            ):
                continue
            role = self.config.escalate_to
            escalated = alert.model_copy(
                update={
                    "severity": SEVERITY_UP[alert.severity],
                    "escalated_to": role,
                    "escalated_at": now,
                    "updated": now,
                    "data": {**alert.data, "escalated_to": role},
                }
            )
            self._live[key] = escalated
            self._publish(escalated)
            log.warning(
                "alert %s escalated to %s after %.0f min unacknowledged",
                alert.kind,
                role,
                (now - alert.ts) / 60,
                extra={"alert": alert.id},
            )
            await self._change(escalated, "updated", "escalated")
            done.append(escalated)
        return done

    async def run(self) -> None:
        """Escalate due alerts every ``escalate_check_s``; runs until cancelled."""
        while True:
            await asyncio.sleep(self.config.escalate_check_s)
            try:
                await self.escalate_due()
            except Exception:  # a failed write must not end escalation for good
                log.exception("alert escalation failed")

    async def resolve(
        self,
        *,
        key: str | None = None,
        alert_id: str | None = None,
        notify: tuple[str, str] | None = None,
        by: str | None = None,
    ) -> StaffAlert | None:
        """Resolve a live alert by key or id; ``notify`` = (kind, title) of an info alert
        published to staff to say the fault cleared (e.g. ``device_online``); ``by`` = who
        (``None``: the hub itself)."""
        if alert_id is not None:
            alert = self.get(alert_id)
        elif key is not None:
            found = self._live.get(key)
            if found is None:
                return None
            alert = found
        else:
            raise ValueError("resolve needs a key or an alert id")
        now = self._clock()
        done = alert.model_copy(
            update={"status": "resolved", "resolved_at": now, "resolved_by": by, "updated": now}
        )
        self._live.pop(alert.key, None)
        await self._journal.call(lambda c: _update(c, done))
        await self._bus.publish(AlertChanged(change="resolved", alert=done))
        await self._journal.append(self._entry(done, "resolved", by=by))
        self.changes.labels("resolved").inc()
        if notify is not None:
            info = StaffAlert(
                id=uuid.uuid4().hex,
                ts=now,
                updated=now,
                severity="info",
                kind=notify[0],
                title=notify[1],
                device=alert.device,
                zone=alert.zone,
                data={"resolves": alert.id},
                status="resolved",
                key=f"{notify[0]}:{alert.id}",
                resolved_at=now,
            )
            self._publish(info)
            await self._journal.append(self._entry(info, "notified"))
        return done

    async def _change(
        self, alert: StaffAlert, bus_change: BusChange, change: str, *, by: str | None = None
    ) -> None:
        """Keep, store, announce and journal a changed live alert."""
        self._live[alert.key] = alert
        await self._journal.call(lambda c: _update(c, alert))
        await self._bus.publish(AlertChanged(change=bus_change, alert=alert))
        await self._journal.append(self._entry(alert, change, by=by))
        self.changes.labels(change).inc()

    def _entry(self, alert: StaffAlert, change: str, *, by: str | None = None) -> Entry:
        body = alert.model_dump(mode="json")
        body["change"] = change
        if by is not None:
            body["by"] = by
        return Entry(
            type="alert",
            ts=alert.updated or alert.ts,
            device=alert.device,
            name=alert.kind,
            data=json.dumps(body),
            stream="alerts",
        )


#: The ``alerts`` table's columns, as fields of :class:`StaffAlert`.
_COLUMNS = (
    "id", "key", "ts", "updated", "severity", "kind", "title", "device", "zone", "data",
    "status", "count", "acked_by", "acked_at", "resolved_at", "assignee", "escalated_to",
    "escalated_at", "resolved_by",
)  # fmt: skip
_FIXED = frozenset({"id", "key", "ts", "kind", "title", "device", "zone"})


def _params(a: StaffAlert) -> dict[str, Any]:
    values = a.model_dump(include=set(_COLUMNS))
    values["data"] = json.dumps(a.data)
    return values


def _insert(conn: sqlite3.Connection, a: StaffAlert) -> None:
    names = ", ".join(_COLUMNS)
    marks = ", ".join(f":{c}" for c in _COLUMNS)
    conn.execute(f"INSERT INTO alerts({names}) VALUES ({marks})", _params(a))


def _update(conn: sqlite3.Connection, a: StaffAlert) -> None:
    changes = ", ".join(f"{c}=:{c}" for c in _COLUMNS if c not in _FIXED)
    conn.execute(f"UPDATE alerts SET {changes} WHERE id=:id", _params(a))


def _from_row(row: tuple[Any, ...]) -> StaffAlert:
    values = dict(zip(_COLUMNS, row, strict=True))
    values["data"] = json.loads(values["data"])
    return StaffAlert(**values)
