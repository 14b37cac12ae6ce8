"""Staff alerts: raise, de-duplicate, acknowledge, resolve.

An alert is published on ``store/{store}/alert`` (contract payload), put on
the bus, stored in ``alerts`` with its lifecycle (open → acknowledged →
resolved) and journaled with an ``alerts`` outbox row for the cloud.  While an
alert with the same key is live (not resolved), raising it again only bumps its
count: staff are not paged twice for one fault.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
import uuid
from collections.abc import Callable
from typing import Any

from hub.bus import Bus
from hub.events import Alert, AlertChanged, Severity
from hub.journal import Entry, Journal
from hub.metrics import Metrics

log = logging.getLogger("storehub.alerts")

Publish = Callable[[Alert], None]


class AlertNotFound(LookupError):
    pass


class Alerts:
    def __init__(
        self,
        journal: Journal,
        bus: Bus,
        metrics: Metrics,
        publish: Publish,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._journal = journal
        self._bus = bus
        self._metrics = metrics
        self._publish = publish
        self._clock = clock
        self._live: dict[str, Alert] = {}  # key → live alert

    async def load(self) -> None:
        rows = await self._journal.call(
            lambda c: c.execute("SELECT * FROM alerts WHERE status != 'resolved'").fetchall()
        )
        for row in rows:
            alert = _from_row(row)
            self._live[alert.key] = alert

    def live(self) -> list[Alert]:
        return sorted(self._live.values(), key=lambda a: a.ts)

    def find(self, key: str) -> Alert | None:
        return self._live.get(key)

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
    ) -> Alert:
        """Raise an alert, or bump the live one with the same key."""
        now = self._clock()
        key = key or f"{kind}:{device or ''}:{zone or ''}"
        current = self._live.get(key)
        if current is not None:
            bumped = current.model_copy(update={"count": current.count + 1, "updated": now})
            self._live[key] = bumped
            await self._bus.publish(AlertChanged(change="repeated", alert=bumped))
            await self._journal.call(lambda c: _update(c, bumped))
            return bumped
        alert = Alert(
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
        await self._bus.publish(AlertChanged(change="raised", alert=alert))
        await self._journal.call(lambda c: _insert(c, alert))
        await self._journal.append(self._entry(alert))
        log.info("alert %s %s: %s", severity, kind, title, extra={"alert": alert.id})
        return alert

    async def acknowledge(self, alert_id: str, by: str) -> Alert:
        alert = self._by_id(alert_id)
        if alert.status != "open":
            return alert
        acked = alert.model_copy(
            update={"status": "acknowledged", "acked_by": by, "updated": self._clock()}
        )
        self._live[acked.key] = acked
        await self._journal.call(lambda c: _update(c, acked))
        await self._bus.publish(AlertChanged(change="acknowledged", alert=acked))
        return acked

    async def resolve(
        self,
        *,
        key: str | None = None,
        alert_id: str | None = None,
        notify: tuple[str, str] | None = None,
    ) -> Alert | None:
        """Resolve a live alert by key or id; ``notify`` = (kind, title) of an info alert
        published to staff to say the fault cleared (e.g. ``device_online``)."""
        if alert_id is not None:
            alert = self._by_id(alert_id)
        elif key is not None:
            found = self._live.get(key)
            if found is None:
                return None
            alert = found
        else:
            raise ValueError("resolve needs a key or an alert id")
        now = self._clock()
        done = alert.model_copy(update={"status": "resolved", "resolved_at": now, "updated": now})
        self._live.pop(alert.key, None)
        await self._journal.call(lambda c: _update(c, done))
        await self._bus.publish(AlertChanged(change="resolved", alert=done))
        await self._journal.append(self._entry(done))
        if notify is not None:
            info = Alert(
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
            await self._journal.append(self._entry(info))
        return done

    def _by_id(self, alert_id: str) -> Alert:
        for alert in self._live.values():
            if alert.id == alert_id:
                return alert
        raise AlertNotFound(alert_id)

    def _entry(self, alert: Alert) -> Entry:
        return Entry(
            type="alert",
            ts=alert.updated or alert.ts,
            device=alert.device,
            name=alert.kind,
            data=alert.model_dump_json(),
            stream="alerts",
        )


def _insert(conn: sqlite3.Connection, a: Alert) -> None:
    conn.execute(
        "INSERT INTO alerts(id, key, ts, updated, severity, kind, title, device, zone, data,"
        " status, count) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            a.id,
            a.key,
            a.ts,
            a.updated,
            a.severity,
            a.kind,
            a.title,
            a.device,
            a.zone,
            json.dumps(a.data),
            a.status,
            a.count,
        ),
    )


def _update(conn: sqlite3.Connection, a: Alert) -> None:
    conn.execute(
        "UPDATE alerts SET updated=?, status=?, count=?, acked_by=?,"
        " acked_at=CASE WHEN ? IS NOT NULL AND acked_at IS NULL THEN ? ELSE acked_at END,"
        " resolved_at=? WHERE id=?",
        (a.updated, a.status, a.count, a.acked_by, a.acked_by, a.updated, a.resolved_at, a.id),
    )


def _from_row(row: tuple[Any, ...]) -> Alert:
    (
        id_,
        key,
        ts,
        updated,
        severity,
        kind,
        title,
        device,
        zone,
        data,
        status,
        count,
        acked_by,
        _acked_at,
        resolved_at,
    ) = row
    return Alert(
        id=id_,
        key=key,
        ts=ts,
        updated=updated,
        severity=severity,
        kind=kind,
        title=title,
        device=device,
        zone=zone,
        data=json.loads(data),
        status=status,
        count=count,
        acked_by=acked_by,
        resolved_at=resolved_at,
    )
