"""The hub's SQLite file: a new file gets the whole schema, an old one is migrated
forward keeping its rows, a migration that fails leaves the file as it was, readers
cannot write, and the threaded reader queries off the event loop."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from hub import db
from hub.migrations import MIGRATIONS


def version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def test_a_new_file_gets_every_migration_in_wal_mode(tmp_path: Path) -> None:
    conn = db.connect_writer(db.db_path(tmp_path / "data"))
    assert version(conn) == len(MIGRATIONS)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"journal", "outbox"} <= tables
    # Opening it again migrates nothing.
    conn.close()
    assert version(db.connect_writer(db.db_path(tmp_path / "data"))) == len(MIGRATIONS)


def test_an_old_file_is_migrated_forward_keeping_its_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "hub.db"
    monkeypatch.setattr(db, "MIGRATIONS", ["CREATE TABLE a (x INTEGER);"])
    old = db.connect_writer(path)
    old.execute("INSERT INTO a VALUES (7)")
    old.close()
    grown = ["CREATE TABLE a (x INTEGER);", "ALTER TABLE a ADD COLUMN y TEXT DEFAULT 'n';"]
    monkeypatch.setattr(db, "MIGRATIONS", grown)
    conn = db.connect_writer(path)
    assert version(conn) == 2
    assert conn.execute("SELECT x, y FROM a").fetchall() == [(7, "n")]


def test_a_failing_migration_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "hub.db"
    bad = ["CREATE TABLE a (x INTEGER);", "CREATE TABLE b (y); INSERT INTO nowhere VALUES (1);"]
    monkeypatch.setattr(db, "MIGRATIONS", bad)
    with pytest.raises(sqlite3.OperationalError, match="nowhere"):
        db.connect_writer(path)
    conn = sqlite3.connect(path)
    assert version(conn) == 1  # the first went in, the second not at all
    assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'b'").fetchall() == []


async def test_readers_read_beside_the_writer_and_cannot_write(tmp_path: Path) -> None:
    path = db.db_path(tmp_path)
    writer = db.connect_writer(path)
    writer.execute("INSERT INTO journal (type, ts, received, data) VALUES ('event', 1, 1, '{}')")
    reader = db.ThreadedReader(path, "test-reader")
    try:
        count = await reader.call(lambda c: c.execute("SELECT count(*) FROM journal").fetchone())
        assert count[0] == 1
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            await reader.call(lambda c: c.execute("DELETE FROM journal"))
    finally:
        await reader.aclose()
    # Closed, it opens again on the next call.
    assert (await reader.call(lambda c: c.execute("SELECT 1").fetchone()))[0] == 1
    await reader.aclose()
