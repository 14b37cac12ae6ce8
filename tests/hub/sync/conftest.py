"""Shared pieces of the sync tests: a reference cloud on a loopback port, a running
journal on a real SQLite file, a controllable clock, and the exactly-once check."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.config import SyncConfig
from hub.db import connect_reader
from hub.journal import Entry, Journal
from hub.sync import HttpCloudAdapter, LogAlerts, Sync
from simulators.cloud import CloudServer
from tests.conftest import running_journal

STORE = "s1"
TOKEN = "s1-secret"


class FakeClock:
    """The store's clock, moved by the test (a day passes in a second)."""

    def __init__(self, now: float = 1_750_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[CloudServer]:
    with CloudServer(tmp_path / "cloud" / "cloud.db", tokens={STORE: TOKEN}) as server:
        yield server


@pytest.fixture
async def journal(tmp_path: Path) -> AsyncIterator[Journal]:
    async with running_journal(tmp_path / "data" / "hub.db", batch_max=500) as j:
        yield j


def fast_config(url: str = "http://127.0.0.1:9", **overrides: Any) -> SyncConfig:
    """Test timings: no batch age, short back-off and polls."""
    values: dict[str, Any] = {
        "enabled": True,
        "url": url,
        "batch_age_s": 0.0,
        "poll_s": 0.02,
        "backoff_min_s": 0.02,
        "backoff_max_s": 0.2,
        "timeout_s": 2.0,
        "budget_check_s": 0.05,
        "pull_wait_s": 1.0,
        "pull_interval_s": 0.05,
        "reconcile_s": 0.5,
    }
    values.update(overrides)
    return SyncConfig(**values)


def make_sync(
    journal: Journal,
    url: str,
    *,
    clock: Any = time.time,
    alerts: LogAlerts | None = None,
    token: str = TOKEN,
    pulls: bool = True,
    **overrides: Any,
) -> Sync:
    config = fast_config(url, **overrides)
    adapter = HttpCloudAdapter(url, STORE, token, timeout=config.timeout_s)
    return Sync(
        store_id=STORE,
        journal=journal,
        db_path=journal.path,
        config=config,
        uploads=adapter,
        pulls=adapter if pulls else None,
        alerts=alerts if alerts is not None else LogAlerts(),
        clock=clock,
    )


async def write(
    journal: Journal, stream: str, count: int, *, start: int = 0, received: float | None = None
) -> None:
    for n in range(start, start + count):
        await journal.append(
            Entry(
                type="event",
                ts=time.time(),
                data=json.dumps({"stream": stream, "n": n}),
                stream=stream,
                received=received if received is not None else time.time(),
            )
        )


def outbox_rows(db: Path) -> list[tuple[Any, ...]]:
    conn = connect_reader(db)
    try:
        return [
            tuple(r) for r in conn.execute("SELECT id, stream, data, sent FROM outbox ORDER BY id")
        ]
    finally:
        conn.close()


def pending(db: Path) -> int:
    conn = connect_reader(db)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM outbox WHERE sent IS NULL").fetchone()[0])
    finally:
        conn.close()


def assert_exactly_once(cloud: CloudServer, db: Path) -> None:
    """The cloud holds every outbox row of the store once, each stream in order, and
    the store marked every row sent."""
    rows = outbox_rows(db)
    assert rows, "nothing was written"
    assert all(sent is not None for *_, sent in rows), "rows left unsent"
    received = cloud.store.records(STORE)
    seqs = [(r["stream"], r["seq"]) for r in received]
    assert len(seqs) == len(set(seqs)), "a row arrived twice"
    assert sorted(seqs) == sorted((stream, id_) for id_, stream, _, _ in rows)
    by_stream: dict[str, list[int]] = {}
    for stream, seq in seqs:
        by_stream.setdefault(stream, []).append(seq)
    for stream, order in by_stream.items():
        assert order == sorted(order), f"stream {stream} out of order"
    data = {(r["stream"], r["seq"]): json.loads(r["data"]) for r in received}
    for id_, stream, text, _ in rows:
        assert data[(stream, id_)] == json.loads(text)
    stats = cloud.store.stats()
    assert stats.duplicates_applied == 0 and stats.out_of_order == 0


def sql(db: Path, query: str, *args: Any) -> list[sqlite3.Row]:
    conn = connect_reader(db)
    try:
        return list(conn.execute(query, args))
    finally:
        conn.close()
