"""Read side of the hub's database, shared by the CLI and the store API.

Read-only connections only; safe beside a running hub (WAL).
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any


def _rows(cur: sqlite3.Cursor) -> list[dict[str, Any]]:
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]


def devices(db: sqlite3.Connection) -> list[dict[str, Any]]:
    return _rows(db.execute(
        "SELECT id, kind, zone, role, name, may_sleep, online, since, last_seen, model, fw"
        " FROM devices WHERE removed = 0 ORDER BY id"
    ))


def presence_history(db: sqlite3.Connection, device: str, limit: int = 100) -> list[dict[str, Any]]:
    return _rows(db.execute(
        "SELECT ts, online, reason FROM presence WHERE device = ? ORDER BY id DESC LIMIT ?",
        (device, limit),
    ))


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
) -> list[dict[str, Any]]:
    where = ["id > ?"]
    args: list[Any] = [after_id]
    for column, value, op in (
        ("id", before_id, "<"), ("device", device, "="), ("type", type, "="),
        ("name", name, "="), ("received", since, ">="), ("received", until, "<"),
    ):
        if value is not None:
            where.append(f"{column} {op} ?")
            args.append(value)
    order = "DESC" if newest_first else "ASC"
    rows = _rows(db.execute(
        f"SELECT id, type, ts, received, device, name, seq, data FROM journal"
        f" WHERE {' AND '.join(where)} ORDER BY id {order} LIMIT ?",
        (*args, limit),
    ))
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
) -> list[dict[str, Any]]:
    where, args = ["1=1"], []
    if device is not None:
        where.append("device = ?")
        args.append(device)
    if reason is not None:
        where.append("reason = ?")
        args.append(reason)
    rows = _rows(db.execute(
        f"SELECT id, ts, topic, device, reason, detail, size, head FROM deadletter"
        f" WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ?",
        (*args, limit),
    ))
    for row in rows:
        row["head"] = bytes(row["head"]).decode("utf-8", errors="replace")
    return rows


def deadletter_counts(db: sqlite3.Connection) -> list[dict[str, Any]]:
    return _rows(db.execute(
        "SELECT device, reason, COUNT(*) AS count, MAX(ts) AS last FROM deadletter"
        " GROUP BY device, reason ORDER BY count DESC"
    ))


def alerts(db: sqlite3.Connection, *, status: str | None = None,
           limit: int = 100) -> list[dict[str, Any]]:
    where, args = "1=1", []
    if status == "live":
        where = "status != 'resolved'"
    elif status is not None:
        where, args = "status = ?", [status]
    rows = _rows(db.execute(
        f"SELECT * FROM alerts WHERE {where} ORDER BY ts DESC LIMIT ?", (*args, limit)
    ))
    for row in rows:
        row["data"] = json.loads(row["data"])
    return rows
