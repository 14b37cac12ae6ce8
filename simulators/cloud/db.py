"""The reference cloud's own SQLite: received records (deduplicated on the
idempotency key, checked against each stream's head) and the published changes."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue
from pydantic_core import to_json

from hub.sync.protocol import ChangeOp, GapResponse, RecordAck, UploadBatch, UploadResponse

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    n INTEGER PRIMARY KEY,            -- arrival order
    store TEXT NOT NULL,
    key TEXT NOT NULL,
    origin TEXT NOT NULL,
    stream TEXT NOT NULL,
    seq INTEGER NOT NULL,
    prev INTEGER NOT NULL,
    created REAL NOT NULL,
    data TEXT NOT NULL,
    status TEXT NOT NULL,             -- stored | rejected
    reason TEXT,
    received REAL NOT NULL,
    UNIQUE (store, key)
);
CREATE INDEX IF NOT EXISTS records_stream ON records(store, origin, stream, n);
CREATE TABLE IF NOT EXISTS heads (
    store TEXT NOT NULL, origin TEXT NOT NULL, stream TEXT NOT NULL,
    seq INTEGER NOT NULL, count INTEGER NOT NULL,
    PRIMARY KEY (store, origin, stream)
);
CREATE TABLE IF NOT EXISTS changes (
    version INTEGER PRIMARY KEY AUTOINCREMENT,
    type TEXT NOT NULL, key TEXT NOT NULL, op TEXT NOT NULL, data TEXT NOT NULL,
    published REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS change_targets (
    store TEXT NOT NULL,              -- a store id, or * for every store
    version INTEGER NOT NULL,
    PRIMARY KEY (store, version)
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class _Gap(Exception):
    """A record's ``prev`` is not its stream's head: the batch is refused whole."""


class PublishChange(BaseModel):
    """What HQ publishes through the admin API."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: str = Field(min_length=1)
    key: str = Field(min_length=1)
    op: ChangeOp = "upsert"
    # Deliberately loose: tests publish invalid changes to see them quarantined.
    data: JsonValue = Field(default_factory=dict)
    stores: list[str] = Field(default_factory=lambda: ["*"], min_length=1)


class CloudStats(BaseModel):
    model_config = ConfigDict(frozen=True)

    records: int
    stored: int
    rejected: int
    duplicates_received: int
    #: Records applied more than once (same store, origin, stream, seq): must be 0.
    duplicates_applied: int
    #: Records of a stream that arrived after one with a higher seq: must be 0.
    out_of_order: int
    gaps: int
    forgotten_batches: int
    streams: dict[str, int]


class CloudStore:
    """One connection behind a lock: the ASGI app is single-process, and short
    transactions keep the event loop responsive."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- outbox ----------------------------------------------------------------

    def ingest(
        self, store: str, batch: UploadBatch, *, forget: bool = False
    ) -> UploadResponse | GapResponse:
        """Apply a batch atomically: all its new records, or (on a gap) none."""
        now = time.time()
        with self._lock:
            c = self._conn
            c.execute("BEGIN IMMEDIATE")
            try:
                try:
                    result = self._ingest(c, store, batch, now)
                except _Gap:
                    c.execute("ROLLBACK")
                    self._bump(c, "gaps", 1)
                    return GapResponse(
                        heads={
                            s: self._head(c, store, batch.origin, s)
                            for s in {r.stream for r in batch.records}
                        }
                    )
                if forget:  # the "200 then forget" fault: answer as if stored
                    c.execute("ROLLBACK")
                    self._bump(c, "forgotten_batches", 1)
                else:
                    c.execute("COMMIT")
                return result
            except BaseException:
                if c.in_transaction:
                    c.execute("ROLLBACK")
                raise

    def _ingest(
        self, c: sqlite3.Connection, store: str, batch: UploadBatch, now: float
    ) -> UploadResponse:
        known = self._known(c, store, [r.key for r in batch.records])
        heads: dict[str, tuple[int, int]] = {}
        acks: list[RecordAck] = []
        rows: list[tuple[Any, ...]] = []
        for r in batch.records:
            if r.key in known:
                acks.append(RecordAck(key=r.key, status="duplicate"))
                continue
            known.add(r.key)
            head, count = heads.get(r.stream) or (self._head(c, store, batch.origin, r.stream), 0)
            if r.prev != head:
                raise _Gap
            heads[r.stream] = (r.seq, count + 1)
            ok = isinstance(r.data, dict)
            reason = None if ok else "data is not a JSON object"
            rows.append(
                (
                    store,
                    r.key,
                    batch.origin,
                    r.stream,
                    r.seq,
                    r.prev,
                    r.created,
                    to_json(r.data).decode(),
                    "stored" if ok else "rejected",
                    reason,
                    now,
                )
            )
            acks.append(RecordAck(key=r.key, status="stored" if ok else "rejected", reason=reason))
        c.executemany(
            "INSERT INTO records(store, key, origin, stream, seq, prev, created, data, status,"
            " reason, received) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            rows,
        )
        c.executemany(
            "INSERT INTO heads(store, origin, stream, seq, count) VALUES (?,?,?,?,?)"
            " ON CONFLICT(store, origin, stream) DO UPDATE SET seq = excluded.seq,"
            " count = count + excluded.count",
            [(store, batch.origin, s, seq, n) for s, (seq, n) in heads.items()],
        )
        self._bump(c, "duplicates_received", len(batch.records) - len(rows))
        return UploadResponse(acks=acks)

    @staticmethod
    def _known(c: sqlite3.Connection, store: str, keys: list[str]) -> set[str]:
        """Which of ``keys`` this store already sent (one query per 500 keys)."""
        found: set[str] = set()
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            marks = ",".join("?" * len(chunk))
            found.update(
                k
                for (k,) in c.execute(
                    f"SELECT key FROM records WHERE store = ? AND key IN ({marks})", (store, *chunk)
                )
            )
        return found

    @staticmethod
    def _head(c: sqlite3.Connection, store: str, origin: str, stream: str) -> int:
        row = c.execute(
            "SELECT seq FROM heads WHERE store=? AND origin=? AND stream=?", (store, origin, stream)
        ).fetchone()
        return int(row[0]) if row else 0

    @staticmethod
    def _bump(c: sqlite3.Connection, name: str, by: int) -> None:
        if by:
            c.execute(
                "INSERT INTO counters(name, value) VALUES (?, ?) ON CONFLICT(name)"
                " DO UPDATE SET value = value + excluded.value",
                (name, by),
            )

    def heads(self, store: str, origin: str) -> dict[str, int]:
        with self._lock:
            return {
                str(s): int(q)
                for s, q in self._conn.execute(
                    "SELECT stream, seq FROM heads WHERE store=? AND origin=?", (store, origin)
                )
            }

    def records(
        self, store: str, stream: str | None = None, *, after: int = 0, limit: int = 1_000_000
    ) -> list[dict[str, Any]]:
        """Received records in arrival order."""
        sql = (
            "SELECT n, key, origin, stream, seq, data, status, reason FROM records"
            " WHERE store = ? AND n > ?"
        )
        args: list[Any] = [store, after]
        if stream is not None:
            sql += " AND stream = ?"
            args.append(stream)
        with self._lock:
            cur = self._conn.execute(sql + " ORDER BY n LIMIT ?", (*args, limit))
            cols = [d[0] for d in cur.description]
            return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]

    def stats(self) -> CloudStats:
        with self._lock:
            c = self._conn
            counters = dict(c.execute("SELECT name, value FROM counters").fetchall())
            by_status = dict(
                c.execute("SELECT status, COUNT(*) FROM records GROUP BY status").fetchall()
            )
            applied_twice = c.execute(
                "SELECT COALESCE(SUM(k - 1), 0) FROM (SELECT COUNT(*) AS k FROM records"
                " GROUP BY store, origin, stream, seq HAVING k > 1)"
            ).fetchone()[0]
            disorder = c.execute(
                "SELECT COUNT(*) FROM (SELECT seq, LAG(seq) OVER (PARTITION BY store, origin,"
                " stream ORDER BY n) AS p FROM records) WHERE p IS NOT NULL AND seq <= p"
            ).fetchone()[0]
            streams = dict(
                c.execute("SELECT stream, COUNT(*) FROM records GROUP BY stream").fetchall()
            )
        return CloudStats(
            records=sum(by_status.values()),
            stored=by_status.get("stored", 0),
            rejected=by_status.get("rejected", 0),
            duplicates_received=counters.get("duplicates_received", 0),
            duplicates_applied=int(applied_twice),
            out_of_order=int(disorder),
            gaps=counters.get("gaps", 0),
            forgotten_batches=counters.get("forgotten_batches", 0),
            streams=streams,
        )

    # -- inbox -----------------------------------------------------------------

    def publish(self, changes: Sequence[PublishChange]) -> list[int]:
        now = time.time()
        versions: list[int] = []
        with self._lock:
            c = self._conn
            c.execute("BEGIN IMMEDIATE")
            for ch in changes:
                cur = c.execute(
                    "INSERT INTO changes(type, key, op, data, published) VALUES (?,?,?,?,?)",
                    (ch.type, ch.key, ch.op, json.dumps(ch.data), now),
                )
                version = int(cur.lastrowid or 0)
                c.executemany(
                    "INSERT INTO change_targets(store, version) VALUES (?, ?)",
                    [(s, version) for s in sorted(set(ch.stores))],
                )
                versions.append(version)
            c.execute("COMMIT")
        return versions

    def changes(self, store: str, after: int, limit: int) -> tuple[list[dict[str, Any]], bool]:
        """Raw changes for ``store`` after ``after`` (raw: an invalid one is served as
        published), and whether more wait."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT c.version, c.type, c.key, c.op, c.data, c.published FROM changes c"
                " WHERE c.version IN (SELECT version FROM change_targets WHERE store IN (?, '*')"
                " AND version > ?) ORDER BY c.version LIMIT ?",
                (store, after, limit + 1),
            ).fetchall()
        out = [
            {"version": v, "type": t, "key": k, "op": o, "data": json.loads(d), "published": p}
            for v, t, k, o, d, p in rows[:limit]
        ]
        return out, len(rows) > limit

    def version(self) -> int:
        with self._lock:
            return int(
                self._conn.execute("SELECT COALESCE(MAX(version), 0) FROM changes").fetchone()[0]
            )
