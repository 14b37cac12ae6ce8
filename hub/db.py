"""The hub's SQLite file: schema, migrations and connections.

One file (``DATA_DIR/hub.db``) in WAL mode.  Exactly one writer thread
(:class:`hub.journal.Journal`) writes; anything else opens read-only
connections, which WAL lets run beside the writer.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

# Append-only: each entry migrates from user_version i to i + 1.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE journal (
        id INTEGER PRIMARY KEY,
        type TEXT NOT NULL,           -- event | state | command | reply | alert
        ts REAL NOT NULL,             -- the device's or the hub's own time of the fact
        received REAL NOT NULL,       -- when the hub got or made it
        device TEXT,
        name TEXT,
        seq INTEGER,
        data TEXT NOT NULL            -- JSON
    );
    CREATE UNIQUE INDEX journal_dedupe ON journal(device, seq)
        WHERE type = 'event' AND seq IS NOT NULL;
    CREATE INDEX journal_device ON journal(device, id);
    CREATE INDEX journal_received ON journal(received);
    CREATE INDEX journal_type ON journal(type, name, id);

    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        journal_id INTEGER,
        stream TEXT NOT NULL,         -- sales | inventory | alerts | device_health | ...
        created REAL NOT NULL,
        data TEXT NOT NULL,
        sent REAL
    );
    CREATE INDEX outbox_pending ON outbox(stream, id) WHERE sent IS NULL;

    CREATE TABLE deadletter (
        id INTEGER PRIMARY KEY,
        ts REAL NOT NULL,
        topic TEXT NOT NULL,
        device TEXT,
        reason TEXT NOT NULL,
        detail TEXT NOT NULL,
        size INTEGER NOT NULL,
        head BLOB NOT NULL            -- the first bytes of the payload
    );
    CREATE INDEX deadletter_device ON deadletter(device, reason);

    CREATE TABLE devices (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        zone TEXT,
        role TEXT,
        name TEXT,
        may_sleep INTEGER NOT NULL DEFAULT 0,
        config TEXT NOT NULL,
        online INTEGER,               -- NULL: never heard of
        since REAL,
        last_seen REAL,
        model TEXT,
        fw TEXT,
        removed INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE presence (
        id INTEGER PRIMARY KEY,
        device TEXT NOT NULL,
        ts REAL NOT NULL,
        online INTEGER NOT NULL,
        reason TEXT NOT NULL
    );
    CREATE INDEX presence_device ON presence(device, id);

    CREATE TABLE alerts (
        id TEXT PRIMARY KEY,
        key TEXT NOT NULL,
        ts REAL NOT NULL,
        updated REAL NOT NULL,
        severity TEXT NOT NULL,
        kind TEXT NOT NULL,
        title TEXT NOT NULL,
        device TEXT,
        zone TEXT,
        data TEXT NOT NULL,
        status TEXT NOT NULL,         -- open | acknowledged | resolved
        count INTEGER NOT NULL DEFAULT 1,
        acked_by TEXT,
        acked_at REAL,
        resolved_at REAL
    );
    CREATE UNIQUE INDEX alerts_live_key ON alerts(key) WHERE status != 'resolved';
    CREATE INDEX alerts_status ON alerts(status, ts);
    """,
]


def db_path(data_dir: Path) -> Path:
    return data_dir / "hub.db"


def connect_writer(path: Path) -> sqlite3.Connection:
    """The single writer's connection; migrates the schema."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    # NORMAL is durable across an application crash in WAL mode; only a power
    # loss can lose the last transactions.
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=5000")
    conn.execute("PRAGMA foreign_keys=ON")
    migrate(conn)
    return conn


def migrate(conn: sqlite3.Connection) -> None:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    for i, script in enumerate(MIGRATIONS[version:], start=version):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in script.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version={i + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


def connect_reader(path: Path) -> sqlite3.Connection:
    """A read-only connection (the CLI, the API, queries)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout=5000")
    conn.row_factory = sqlite3.Row
    return conn
