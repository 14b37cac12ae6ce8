"""``storehub sync status``: where sync stands, read from the database alone.

Read-only and independent of a running hub (WAL lets it read beside the writer).
"""

from __future__ import annotations

import sqlite3
import time

from pydantic import BaseModel, ConfigDict

from hub.sync import store


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StreamStatus(Frozen):
    stream: str
    pending_rows: int = 0
    pending_bytes: int = 0
    #: Seconds since the oldest unsent row was written (the stream's lag).
    lag_s: float = 0.0
    #: The cloud holds the stream up to this outbox id.
    acked_seq: int = 0
    acked_rows: int = 0
    last_ack: float | None = None
    dropped_rows: int = 0


class SyncStatus(Frozen):
    initialised: bool
    origin: str | None = None
    streams: list[StreamStatus] = []
    pending_rows: int = 0
    pending_bytes: int = 0
    budget_bytes: int
    budget_ratio: float = 0.0
    #: Largest lag over the streams.
    lag_s: float = 0.0
    last_upload_ok: float | None = None
    last_error: str | None = None
    last_error_at: float | None = None
    inbox_cursor: int = 0
    last_pull_ok: float | None = None
    inbox_applied: int = 0
    inbox_quarantined: int = 0


def _float(value: str | None) -> float | None:
    return float(value) if value else None


def read_status(
    conn: sqlite3.Connection, *, budget_bytes: int, now: float | None = None
) -> SyncStatus:
    now = time.time() if now is None else now
    if not store.tables_exist(conn):
        return SyncStatus(initialised=False, budget_bytes=budget_bytes)
    state = store.get_state(conn)
    pending = {p.stream: p for p in store.pending_summary(conn)}
    heads = {
        str(r[0]): r
        for r in conn.execute(
            "SELECT stream, acked_seq, acked_rows, last_ack, dropped_rows FROM sync_streams"
        )
    }
    streams: list[StreamStatus] = []
    for name in sorted({*pending, *heads}):
        p, h = pending.get(name), heads.get(name)
        streams.append(
            StreamStatus(
                stream=name,
                pending_rows=p.rows if p else 0,
                pending_bytes=p.bytes if p else 0,
                lag_s=max(0.0, now - p.oldest) if p and p.oldest is not None else 0.0,
                acked_seq=int(h[1]) if h else 0,
                acked_rows=int(h[2]) if h else 0,
                last_ack=float(h[3]) if h and h[3] is not None else None,
                dropped_rows=int(h[4]) if h else 0,
            )
        )
    counts = dict(
        conn.execute("SELECT status, COUNT(*) FROM sync_inbox GROUP BY status").fetchall()
    )
    total = sum(s.pending_bytes for s in streams)
    return SyncStatus(
        initialised=True,
        origin=state.get("origin"),
        streams=streams,
        pending_rows=sum(s.pending_rows for s in streams),
        pending_bytes=total,
        budget_bytes=budget_bytes,
        budget_ratio=total / budget_bytes,
        lag_s=max((s.lag_s for s in streams), default=0.0),
        last_upload_ok=_float(state.get("last_upload_ok")),
        last_error=state.get("last_error"),
        last_error_at=_float(state.get("last_error_at")),
        inbox_cursor=int(state.get("inbox_cursor", "0")),
        last_pull_ok=_float(state.get("last_pull_ok")),
        inbox_applied=int(counts.get("applied", 0)),
        inbox_quarantined=int(counts.get("quarantined", 0)),
    )
