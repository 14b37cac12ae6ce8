"""Running one inbox change, setting refused ones aside, and trying them again.

Writer-side functions (``journal.call``): :func:`run_applier` runs a change's applier
in a savepoint of its own; :func:`put_aside` records a refused change in
``sync_quarantine``; :func:`retry` runs quarantined changes again (after HQ or a newer
store release fixed what refused them) with one of three outcomes each:

- ``applied``: it went through now — out of quarantine, ``sync_inbox`` says applied;
- ``quarantined``: still refused — kept, with the new reason;
- ``superseded``: a later version of the same type and key was applied meanwhile, so
  applying this one would roll the store back — dropped, ``sync_inbox`` says so.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError

from hub.sync.protocol import Change, validation_reason

#: Words of SQLite errors that mean "the disk, not the change": retry the page later.
TRANSIENT = ("disk", "full", "locked", "busy")

Outcome = Literal["applied", "quarantined", "superseded"]


@dataclass(frozen=True, slots=True)
class Quarantined:
    version: int
    type: str
    key: str
    reason: str


@dataclass(frozen=True, slots=True)
class Retried:
    version: int
    type: str
    key: str
    outcome: Outcome
    reason: str | None = None
    change: Change | None = None


def reason_of(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return validation_reason(exc)
    return str(exc) or type(exc).__name__


def run_applier(
    conn: sqlite3.Connection,
    fn: Callable[[sqlite3.Connection, Change], None],
    change: Change,
) -> str | None:
    """Apply ``change`` whole in a savepoint; the reason it was refused, or ``None``.

    A disk error (not the change's fault) is raised: the caller's transaction fails."""
    conn.execute("SAVEPOINT change")
    try:
        fn(conn, change)
    except Exception as exc:
        conn.execute("ROLLBACK TO change")
        conn.execute("RELEASE change")
        if isinstance(exc, sqlite3.OperationalError) and any(w in str(exc) for w in TRANSIENT):
            raise
        return reason_of(exc)
    conn.execute("RELEASE change")
    return None


def put_aside(conn: sqlite3.Connection, q: Quarantined, raw: Any, now: float) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO sync_quarantine(version, type, key, data, reason, ts)"
        " VALUES (?,?,?,?,?,?)",
        (q.version, q.type, q.key, json.dumps(raw), q.reason, now),
    )


def log_change(
    conn: sqlite3.Connection, version: int, type_: str, key: str, op: str, status: str, now: float
) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO sync_inbox(version, type, key, op, status, applied)"
        " VALUES (?,?,?,?,?,?)",
        (version, type_, key, op, status, now),
    )


def _superseded(conn: sqlite3.Connection, type_: str, key: str, version: int) -> bool:
    later = conn.execute(
        "SELECT 1 FROM sync_inbox WHERE type = ? AND key = ? AND version > ?"
        " AND status = 'applied' LIMIT 1",
        (type_, key, version),
    ).fetchone()
    if later is not None:
        return True
    doc = conn.execute(
        "SELECT version FROM sync_documents WHERE type = ? AND key = ?", (type_, key)
    ).fetchone()
    return doc is not None and int(doc[0]) > version


def retry(
    conn: sqlite3.Connection,
    version: int | None,
    appliers: dict[str, Callable[[sqlite3.Connection, Change], None]],
    now: float,
) -> list[Retried]:
    """Runs in the writer: try the quarantined changes (all, or ``version``) again, oldest
    first."""
    query = "SELECT version, type, key, data FROM sync_quarantine"
    args: tuple[int, ...] = ()
    if version is not None:
        query, args = query + " WHERE version = ?", (version,)
    out: list[Retried] = []
    for v, type_, key, text in conn.execute(query + " ORDER BY version", args).fetchall():
        raw = json.loads(text)
        try:
            change = Change.model_validate(raw)
        except ValidationError as exc:
            reason: str | None = validation_reason(exc)
        else:
            if _superseded(conn, change.type, change.key, change.version):
                conn.execute("DELETE FROM sync_quarantine WHERE version = ?", (v,))
                log_change(conn, v, type_, key, change.op, "superseded", now)
                out.append(Retried(v, type_, key, "superseded", change=change))
                continue
            fn = appliers.get(change.type)
            if fn is None:
                reason = f"no applier for change type {change.type!r}"
            else:
                reason = run_applier(conn, fn, change)
            if reason is None:
                conn.execute("DELETE FROM sync_quarantine WHERE version = ?", (v,))
                log_change(conn, v, type_, key, change.op, "applied", now)
                out.append(Retried(v, type_, key, "applied", change=change))
                continue
        conn.execute(
            "UPDATE sync_quarantine SET reason = ?, ts = ? WHERE version = ?", (reason, now, v)
        )
        out.append(Retried(v, type_, key, "quarantined", reason))
    return out


def remaining(conn: sqlite3.Connection) -> set[str]:
    """The change types that still have quarantined changes."""
    return {str(r[0]) for r in conn.execute("SELECT DISTINCT type FROM sync_quarantine")}
