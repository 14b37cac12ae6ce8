"""The sync engine's SQL: plain functions of a connection.

Functions that write run in the journal's writer thread (``journal.call``), each
in its own savepoint, so an acknowledgement, the rows it marks sent and the
stream head it moves are one atomic step; functions that only read take a
read-only connection.  Tables: see migration 6 in :mod:`hub.db`.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from hub.sync.protocol import Change, RecordAck

#: Accounting overhead of one outbox row (row header, index entries) in the disk budget.
ROW_OVERHEAD = 64


class PendingRow(NamedTuple):
    id: int
    stream: str
    created: float
    data: str


@dataclass(frozen=True, slots=True)
class StreamPending:
    stream: str
    rows: int
    bytes: int
    oldest: float | None


@dataclass(frozen=True, slots=True)
class Realigned:
    stream: str
    cloud_head: int
    store_head: int
    #: Sent rows put back in the queue (the cloud lost them).
    rewound: int
    #: Unsent rows the cloud turned out to hold already.
    forwarded: int
    #: The cloud lost rows that were already purged here: they cannot be re-sent.
    lost: bool


def tables_exist(conn: sqlite3.Connection) -> bool:
    return (
        conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='sync_streams'"
        ).fetchone()
        is not None
    )


def get_state(conn: sqlite3.Connection) -> dict[str, str]:
    return {str(k): str(v) for k, v in conn.execute("SELECT key, value FROM sync_state")}


def set_state(conn: sqlite3.Connection, values: dict[str, str]) -> None:
    conn.executemany(
        "INSERT OR REPLACE INTO sync_state(key, value) VALUES (?, ?)", list(values.items())
    )


def load_heads(conn: sqlite3.Connection) -> dict[str, int]:
    return {str(s): int(h) for s, h in conn.execute("SELECT stream, acked_seq FROM sync_streams")}


def fetch_pending(
    conn: sqlite3.Connection, limit: int, max_bytes: int, after: int = 0
) -> tuple[list[PendingRow], bool]:
    """The oldest unsent rows past ``after``, in id order (so in order within every
    stream), at most ``limit`` rows and about ``max_bytes`` of data (always at least
    one row); and whether a limit was reached (the batch is full)."""
    rows: list[PendingRow] = []
    size = 0
    cur = conn.execute(
        "SELECT id, stream, created, data FROM outbox WHERE sent IS NULL AND id > ?"
        " ORDER BY id LIMIT ?",
        (after, limit),
    )
    full = False
    for row in cur:
        size += len(row[3])
        if rows and size > max_bytes:
            full = True
            break
        rows.append(PendingRow._make(row))
    cur.close()
    return rows, full or len(rows) >= limit


def record_acks(
    conn: sqlite3.Connection, acked: Sequence[tuple[PendingRow, RecordAck]], now: float
) -> None:
    """Record the cloud's acknowledgements, then mark their rows sent and move the heads."""
    conn.executemany(
        "INSERT OR REPLACE INTO sync_acks(outbox_id, stream, status, reason, acked)"
        " VALUES (?,?,?,?,?)",
        [(row.id, row.stream, ack.status, ack.reason, now) for row, ack in acked],
    )
    conn.executemany("UPDATE outbox SET sent = ? WHERE id = ?", [(now, row.id) for row, _ in acked])
    heads: dict[str, tuple[int, int]] = {}
    for row, _ in acked:
        top, count = heads.get(row.stream, (0, 0))
        heads[row.stream] = (max(top, row.id), count + 1)
    conn.executemany(
        "INSERT INTO sync_streams(stream, acked_seq, acked_rows, last_ack) VALUES (?,?,?,?)"
        " ON CONFLICT(stream) DO UPDATE SET acked_seq = max(acked_seq, excluded.acked_seq),"
        " acked_rows = acked_rows + excluded.acked_rows, last_ack = excluded.last_ack",
        [(stream, top, count, now) for stream, (top, count) in heads.items()],
    )
    set_state(conn, {"last_upload_ok": repr(now)})


def realign(conn: sqlite3.Connection, cloud: dict[str, int], now: float) -> list[Realigned]:
    """Make each stream's head the cloud's: re-queue sent rows the cloud does not hold,
    mark sent the unsent rows it does (it stored them but its reply never arrived)."""
    out: list[Realigned] = []
    for stream, head in sorted(cloud.items()):
        row = conn.execute(
            "SELECT acked_seq, purged_seq FROM sync_streams WHERE stream = ?", (stream,)
        ).fetchone()
        store_head, purged = (int(row[0]), int(row[1])) if row else (0, 0)
        if head == store_head:
            continue
        rewound = conn.execute(
            "UPDATE outbox SET sent = NULL WHERE stream = ? AND id > ? AND sent IS NOT NULL",
            (stream, head),
        ).rowcount
        conn.execute("DELETE FROM sync_acks WHERE stream = ? AND outbox_id > ?", (stream, head))
        conn.execute(
            "INSERT OR REPLACE INTO sync_acks(outbox_id, stream, status, reason, acked)"
            " SELECT id, stream, 'duplicate', 'held by the cloud (realigned)', ? FROM outbox"
            " WHERE stream = ? AND id <= ? AND sent IS NULL",
            (now, stream, head),
        )
        forwarded = conn.execute(
            "UPDATE outbox SET sent = ? WHERE stream = ? AND id <= ? AND sent IS NULL",
            (now, stream, head),
        ).rowcount
        conn.execute(
            "INSERT INTO sync_streams(stream, acked_seq) VALUES (?, ?)"
            " ON CONFLICT(stream) DO UPDATE SET acked_seq = excluded.acked_seq",
            (stream, head),
        )
        out.append(Realigned(stream, head, store_head, rewound, forwarded, head < purged))
    return out


def pending_summary(conn: sqlite3.Connection) -> list[StreamPending]:
    cur = conn.execute(
        "SELECT stream, COUNT(*), SUM(length(data)), MIN(created) FROM outbox"
        " WHERE sent IS NULL GROUP BY stream ORDER BY stream"
    )
    return [
        StreamPending(
            str(s), int(n), int(b or 0) + int(n) * ROW_OVERHEAD, float(o) if o is not None else None
        )
        for s, n, b, o in cur
    ]


@dataclass(frozen=True, slots=True)
class Dropped:
    stream: str
    rows: int
    bytes: int
    first: int
    last: int


def drop_oldest(
    conn: sqlite3.Connection,
    streams: Iterable[str],
    excess: int,
    protect: tuple[int, int] | None,
    now: float,
) -> list[Dropped]:
    """Delete the oldest unsent rows of ``streams`` until ``excess`` bytes are freed,
    skipping the batch in flight (``protect``: its id range).  Each stream's loss is
    booked in ``sync_streams`` and announced to the cloud by a ``sync`` record."""
    names = sorted(set(streams))
    if not names or excess <= 0:
        return []
    marks = ",".join("?" * len(names))
    lo, hi = protect or (0, -1)
    cur = conn.execute(
        f"SELECT id, stream, length(data) FROM outbox WHERE sent IS NULL AND stream IN ({marks})"
        " AND NOT (id BETWEEN ? AND ?) ORDER BY id",
        (*names, lo, hi),
    )
    doomed: list[tuple[int, str, int]] = []
    freed = 0
    for id_, stream, size in cur:
        if freed >= excess:
            break
        doomed.append((int(id_), str(stream), int(size) + ROW_OVERHEAD))
        freed += int(size) + ROW_OVERHEAD
    cur.close()
    conn.executemany("DELETE FROM outbox WHERE id = ?", [(d[0],) for d in doomed])
    per: dict[str, Dropped] = {}
    for id_, stream, size in doomed:
        d = per.get(stream)
        per[stream] = (
            Dropped(stream, 1, size, id_, id_)
            if d is None
            else Dropped(stream, d.rows + 1, d.bytes + size, d.first, id_)
        )
    for d in per.values():
        conn.execute(
            "INSERT INTO sync_streams(stream, dropped_rows, dropped_bytes) VALUES (?,?,?)"
            " ON CONFLICT(stream) DO UPDATE"
            " SET dropped_rows = dropped_rows + excluded.dropped_rows,"
            " dropped_bytes = dropped_bytes + excluded.dropped_bytes",
            (d.stream, d.rows, d.bytes),
        )
        notice = {
            "kind": "dropped",
            "stream": d.stream,
            "rows": d.rows,
            "bytes": d.bytes,
            "first_seq": d.first,
            "last_seq": d.last,
            "ts": now,
        }
        conn.execute(
            "INSERT INTO outbox(journal_id, stream, created, data) VALUES (NULL,?,?,?)",
            ("sync", now, json.dumps(notice)),
        )
    return list(per.values())


def purge_sent(conn: sqlite3.Connection, before: float) -> int:
    """Delete rows acknowledged before ``before`` (and their acks); remember how far."""
    conn.execute(
        "UPDATE sync_streams SET purged_seq = max(purged_seq, coalesce((SELECT max(outbox_id)"
        " FROM sync_acks a WHERE a.stream = sync_streams.stream AND a.acked < ?), 0))",
        (before,),
    )
    deleted = conn.execute(
        "DELETE FROM outbox WHERE id IN (SELECT outbox_id FROM sync_acks WHERE acked < ?)",
        (before,),
    ).rowcount
    conn.execute("DELETE FROM sync_acks WHERE acked < ?", (before,))
    return int(deleted)


def put_document(conn: sqlite3.Connection, change: Change, key: str, data: str | None) -> None:
    """Keep the latest version of an inbox document (``sync_documents``); ``data=None``
    deletes it."""
    if data is None:
        conn.execute("DELETE FROM sync_documents WHERE type = ? AND key = ?", (change.type, key))
        return
    updated = change.published if change.published is not None else time.time()
    conn.execute(
        "INSERT INTO sync_documents(type, key, version, data, updated) VALUES (?,?,?,?,?)"
        " ON CONFLICT(type, key) DO UPDATE SET version = excluded.version,"
        " data = excluded.data, updated = excluded.updated WHERE excluded.version > version",
        (change.type, key, change.version, data, updated),
    )


def stale(conn: sqlite3.Connection, type_: str, key: str, version: int) -> bool:
    """Whether a later version of document ``type_``/``key`` is in force already."""
    row = conn.execute(
        "SELECT version FROM sync_documents WHERE type = ? AND key = ?", (type_, key)
    ).fetchone()
    return row is not None and int(row[0]) > version
