from __future__ import annotations

import asyncio
import functools
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hub.db import connect_reader
from hub.journal import DeadLetter, Entry, Journal
from tests.conftest import running_journal


@pytest.fixture
async def journal(tmp_path: Path) -> AsyncIterator[Journal]:
    async with running_journal(tmp_path / "hub.db", batch_max=50) as j:
        yield j


async def test_append_outbox_and_ack_after_commit(journal: Journal, tmp_path: Path) -> None:
    acked: list[int] = []
    for i in range(120):
        await journal.append(
            Entry(
                type="event",
                ts=float(i),
                device="d",
                name="x",
                seq=i,
                data="{}",
                stream="traffic" if i % 2 else None,
            ),
            ack=functools.partial(acked.append, i),
        )
    await journal.flush()
    assert acked == list(range(120))  # in order, all after commit
    assert journal.batches >= 3  # batch_max=50 splits the load
    db = connect_reader(tmp_path / "hub.db")
    assert db.execute("SELECT COUNT(*) FROM journal").fetchone()[0] == 120
    assert db.execute("SELECT COUNT(*) FROM outbox WHERE stream='traffic'").fetchone()[0] == 60


async def test_duplicate_seq_is_ignored(journal: Journal, tmp_path: Path) -> None:
    for _ in range(2):
        await journal.append(
            Entry(type="event", ts=1.0, device="d", name="x", seq=7, data="{}", stream="s")
        )
    await journal.append(Entry(type="event", ts=1.0, device="e", name="x", seq=7, data="{}"))
    await journal.flush()
    db = connect_reader(tmp_path / "hub.db")
    assert db.execute("SELECT COUNT(*) FROM journal").fetchone()[0] == 2
    assert db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 1
    assert journal.duplicates == 1


async def test_failing_op_is_isolated(journal: Journal, tmp_path: Path) -> None:
    def bad(conn: sqlite3.Connection) -> None:
        conn.execute(
            "INSERT INTO deadletter(ts, topic, reason, detail, size, head)"
            " VALUES (1, 't', 'r', 'd', 0, x'')"
        )
        raise RuntimeError("boom")

    await journal.dead_letter(
        DeadLetter(topic="t", reason="not_json", detail="x", payload=b"a" * 1000)
    )
    with pytest.raises(RuntimeError, match="boom"):
        await journal.call(bad)
    await journal.flush()
    db = connect_reader(tmp_path / "hub.db")
    rows = db.execute("SELECT reason, size, length(head) FROM deadletter").fetchall()
    assert [tuple(r) for r in rows] == [("not_json", 1000, DeadLetter.HEAD)]


async def test_cancel_commits_what_is_queued(tmp_path: Path) -> None:
    j = Journal(tmp_path / "hub.db")
    await j.open()
    task = asyncio.create_task(j.run())
    for i in range(500):
        await j.append(Entry(type="event", ts=1.0, device="d", seq=i, data="{}"))
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    j.close()
    db = connect_reader(tmp_path / "hub.db")
    assert db.execute("SELECT COUNT(*) FROM journal").fetchone()[0] == 500
