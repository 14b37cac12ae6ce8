"""Read side of the hub's database, shared by the CLI and the store API.

Read-only connections only; safe beside a running hub (WAL).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any


def _rows(cur: sqlite3.Cursor) -> list[dict[str, Any]]:
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]


def devices(db: sqlite3.Connection) -> list[dict[str, Any]]:
    return _rows(
        db.execute(
            "SELECT id, kind, zone, role, name, may_sleep, online, since, last_seen, model, fw,"
            " source FROM devices WHERE removed = 0 ORDER BY id"
        )
    )


def presence_history(
    db: sqlite3.Connection, device: str, limit: int = 100, *, before_id: int | None = None
) -> list[dict[str, Any]]:
    """Newest first; ``before_id`` pages back."""
    return _rows(
        db.execute(
            "SELECT id, ts, online, reason FROM presence WHERE device = ? AND id < ?"
            " ORDER BY id DESC LIMIT ?",
            (device, before_id if before_id is not None else 2**63 - 1, limit),
        )
    )


def journal(
    db: sqlite3.Connection,
    *,
    after_id: int = 0,
    before_id: int | None = None,
    device: str | None = None,
    type: str | None = None,
    name: str | None = None,
    since: float | None = None,
    until: float | None = None,
    limit: int = 100,
    newest_first: bool = False,
    devices: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Journal rows by id; ``devices`` = only rows of these devices (e.g. of one kind)."""
    where = ["id > ?"]
    args: list[Any] = [after_id]
    if devices is not None:
        where.append(f"device IN ({','.join('?' * len(devices))})" if devices else "0")
        args.extend(devices)
    for column, value, op in (
        ("id", before_id, "<"),
        ("device", device, "="),
        ("type", type, "="),
        ("name", name, "="),
        ("received", since, ">="),
        ("received", until, "<"),
    ):
        if value is not None:
            where.append(f"{column} {op} ?")
            args.append(value)
    order = "DESC" if newest_first else "ASC"
    rows = _rows(
        db.execute(
            f"SELECT id, type, ts, received, device, name, seq, data FROM journal"
            f" WHERE {' AND '.join(where)} ORDER BY id {order} LIMIT ?",
            (*args, limit),
        )
    )
    for row in rows:
        try:
            row["data"] = json.loads(row["data"])
        except ValueError:
            pass
    return rows


def deadletters(
    db: sqlite3.Connection,
    *,
    device: str | None = None,
    reason: str | None = None,
    limit: int = 100,
    before_id: int | None = None,
) -> list[dict[str, Any]]:
    """Newest first; ``before_id`` pages back."""
    where: list[str] = ["1=1"]
    args: list[Any] = []
    if before_id is not None:
        where.append("id < ?")
        args.append(before_id)
    if device is not None:
        where.append("device = ?")
        args.append(device)
    if reason is not None:
        where.append("reason = ?")
        args.append(reason)
    rows = _rows(
        db.execute(
            f"SELECT id, ts, topic, device, reason, detail, size, head FROM deadletter"
            f" WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ?",
            (*args, limit),
        )
    )
    for row in rows:
        row["head"] = bytes(row["head"]).decode("utf-8", errors="replace")
    return rows


def deadletter_counts(db: sqlite3.Connection) -> list[dict[str, Any]]:
    return _rows(
        db.execute(
            "SELECT device, reason, COUNT(*) AS count, MAX(ts) AS last FROM deadletter"
            " GROUP BY device, reason ORDER BY count DESC"
        )
    )


ALERT_COLUMNS = (
    "id, key, ts, updated, severity, kind, title, device, zone, data, status, count,"
    " acked_by, acked_at, resolved_at, resolved_by, assignee, escalated_to, escalated_at"
)


def alerts(
    db: sqlite3.Connection,
    *,
    status: str | None = None,
    limit: int = 100,
    severity: str | None = None,
    kind: str | None = None,
    device: str | None = None,
    assignee: str | None = None,
    before: float | None = None,
    notes: bool = False,
) -> list[dict[str, Any]]:
    """Newest first. ``status`` ``live`` = not resolved; ``before`` (a raise time) pages back;
    ``notes`` adds each alert's notes."""
    where: list[str] = ["1=1"]
    args: list[Any] = []
    if status == "live":
        where.append("status != 'resolved'")
    elif status is not None:
        where.append("status = ?")
        args.append(status)
    for column, value, op in (
        ("severity", severity, "="),
        ("kind", kind, "="),
        ("device", device, "="),
        ("assignee", assignee, "="),
        ("ts", before, "<"),
    ):
        if value is not None:
            where.append(f"{column} {op} ?")
            args.append(value)
    rows = _rows(
        db.execute(
            f"SELECT {ALERT_COLUMNS} FROM alerts WHERE {' AND '.join(where)}"
            f" ORDER BY ts DESC LIMIT ?",
            (*args, limit),
        )
    )
    for row in rows:
        row["data"] = json.loads(row["data"])
    if notes:
        found = alert_notes(db, [r["id"] for r in rows])
        for row in rows:
            row["notes"] = found.get(row["id"], [])
    return rows


def alert(db: sqlite3.Connection, alert_id: str) -> dict[str, Any] | None:
    """One alert (any status) with its notes."""
    rows = _rows(db.execute(f"SELECT {ALERT_COLUMNS} FROM alerts WHERE id = ?", (alert_id,)))
    if not rows:
        return None
    row = rows[0]
    row["data"] = json.loads(row["data"])
    row["notes"] = alert_notes(db, [alert_id]).get(alert_id, [])
    return row


def alert_notes(db: sqlite3.Connection, ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    if not ids:
        return out
    for row in _rows(
        db.execute(
            f"SELECT alert_id, ts, author, text FROM alert_notes"
            f" WHERE alert_id IN ({','.join('?' * len(ids))}) ORDER BY id",
            tuple(ids),
        )
    ):
        out.setdefault(row.pop("alert_id"), []).append(row)
    return out


def audit(
    db: sqlite3.Connection,
    *,
    token: str | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """The API's audit log, newest first."""
    where: list[str] = ["1=1"]
    args: list[Any] = []
    if token is not None:
        where.append("token = ?")
        args.append(token)
    if before_id is not None:
        where.append("id < ?")
        args.append(before_id)
    return _rows(
        db.execute(
            f"SELECT id, ts, token, method, path, body, status, client FROM audit"
            f" WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ?",
            (*args, limit),
        )
    )
