"""Outbox → cloud against the reference backend (real HTTP, real SQLite) and against
function-based fakes of the HTTP seam (httpx.MockTransport)."""

from __future__ import annotations

import asyncio
import gzip
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.journal import Entry, Journal
from hub.sync import HttpCloudAdapter, LogAlerts, Sync
from hub.sync.protocol import UploadBatch
from simulators.cloud import CloudServer, free_port
from tests.conftest import eventually
from tests.hub.sync.conftest import (
    STORE,
    TOKEN,
    FakeClock,
    assert_exactly_once,
    fast_config,
    make_sync,
    pending,
    sql,
    write,
)


async def test_drain_delivers_every_row_once_in_order(journal: Journal, cloud: CloudServer) -> None:
    for stream in ("sales", "inventory", "alerts", "device_health", "traffic"):
        await write(journal, stream, 300)
    await journal.flush()
    async with make_sync(journal, cloud.url, batch_rows=128) as sync:
        assert await sync.drain() == 1500
        assert_exactly_once(cloud, journal.path)
        status = sync.status()
    assert status.pending_rows == 0 and status.last_upload_ok is not None
    assert {s.stream: s.acked_rows for s in status.streams}["sales"] == 300
    acks = sql(journal.path, "SELECT status, COUNT(*) FROM sync_acks GROUP BY status")
    assert [tuple(r) for r in acks] == [("stored", 1500)]


async def test_offline_for_a_simulated_day_then_reconnect(tmp_path: Path, journal: Journal) -> None:
    """A day of trading with the cloud unreachable, then the link comes back."""
    clock = FakeClock()
    port = free_port()
    cloud = CloudServer(tmp_path / "cloud.db", port=port, tokens={STORE: TOKEN})
    alerts = LogAlerts()
    sync = make_sync(
        journal,
        cloud.url,
        clock=clock,
        alerts=alerts,
        pulls=False,
        offline_alert_s=3600,
        budget_check_s=0.02,
    )
    runner = asyncio.create_task(sync.run())
    day_start = clock.now
    written = 0
    for minute in range(24 * 60):  # a sale every 20 s, stock every minute, traffic every 10 s
        for second in range(0, 60, 10):
            clock.now = day_start + minute * 60 + second
            streams = ["traffic"] + (["sales"] if second % 20 == 0 else [])
            streams += ["inventory"] if second == 0 else []
            for stream in streams:
                await journal.append(
                    Entry(
                        type="event",
                        ts=clock.now,
                        received=clock.now,
                        data=json.dumps({"stream": stream, "t": clock.now}),
                        stream=stream,
                    )
                )
                written += 1
        if minute % 60 == 0:
            await asyncio.sleep(0)  # let the uploader fail in between
    await journal.flush()
    await eventually(lambda: "sync_offline" in alerts.kinds(), timeout=10)
    report = await sync.budget.check()
    assert sum(s.rows for s in report.streams) == written and sync.outbox.acked == 0
    lag = sync.metrics.lag.labels("sales")._value.get()
    assert lag > 86_000  # a day behind
    assert sync.status().lag_s > 86_000

    with cloud:  # the link is back
        await eventually(lambda: pending(journal.path) == 0, timeout=60)
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        assert_exactly_once(cloud, journal.path)
        assert cloud.store.stats().records == written
    assert "sync_offline" not in alerts.live  # resolved by the first success
    await sync.aclose()


async def test_batch_age_holds_a_small_batch(journal: Journal, cloud: CloudServer) -> None:
    clock = FakeClock()
    async with make_sync(
        journal, cloud.url, clock=clock, batch_age_s=30, batch_rows=100, pulls=False
    ) as sync:
        runner = asyncio.create_task(sync.outbox.run())
        await write(journal, "sales", 5, received=clock.now)
        await journal.flush()
        await asyncio.sleep(0.2)
        assert cloud.store.stats().records == 0  # too young, too few
        clock.now += 31
        await eventually(lambda: cloud.store.stats().records == 5)
        await write(journal, "sales", 100, start=5, received=clock.now)  # a full batch goes at once
        await eventually(lambda: cloud.store.stats().records == 105)
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)


async def test_push_now_skips_the_batch_age(journal: Journal, cloud: CloudServer) -> None:
    async with make_sync(journal, cloud.url, batch_age_s=3600, poll_s=5, pulls=False) as sync:
        runner = asyncio.create_task(sync.outbox.run())
        await write(journal, "sales", 3)
        await journal.flush()
        await asyncio.sleep(0.1)
        sync.push_now()
        await eventually(lambda: cloud.store.stats().records == 3, timeout=3)
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)


async def test_rows_the_cloud_rejects_are_recorded_and_do_not_block(
    journal: Journal, cloud: CloudServer
) -> None:
    await write(journal, "sales", 2)
    for bad in ("[1, 2]", "not json {"):  # not an object; not JSON at all
        await journal.append(Entry(type="event", ts=1.0, data=bad, stream="sales"))
    await write(journal, "sales", 2, start=2)
    await journal.flush()
    alerts = LogAlerts()
    async with make_sync(journal, cloud.url, alerts=alerts) as sync:
        assert await sync.drain() == 6
    rows = sql(journal.path, "SELECT status, reason FROM sync_acks ORDER BY outbox_id")
    assert [r[0] for r in rows] == ["stored", "stored", "rejected", "rejected", "stored", "stored"]
    assert rows[2][1] == "data is not a JSON object"
    assert alerts.kinds().count("sync_record_rejected") == 2
    stored = cloud.store.records(STORE)
    assert json.loads(stored[3]["data"]) == "not json {"  # sent visibly, as a string


async def test_wrong_credential_raises_an_alert_and_keeps_rows(
    journal: Journal, cloud: CloudServer
) -> None:
    await write(journal, "sales", 3)
    await journal.flush()
    alerts = LogAlerts()
    async with make_sync(journal, cloud.url, alerts=alerts, token="wrong", pulls=False) as sync:
        runner = asyncio.create_task(sync.outbox.run())
        await eventually(lambda: "sync_auth" in alerts.kinds())
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        assert "credential" in (sync.outbox.last_error or "")
    assert pending(journal.path) == 3 and cloud.store.stats().records == 0


# -- the HTTP seam, faked with a function ------------------------------------------------

Handler = Callable[[httpx.Request], httpx.Response]


def fake_sync(journal: Journal, handler: Handler, **overrides: Any) -> Sync:
    config = fast_config("https://cloud.example", **overrides)
    adapter = HttpCloudAdapter(
        "https://cloud.example", STORE, TOKEN, transport=httpx.MockTransport(handler)
    )
    return Sync(
        store_id=STORE,
        journal=journal,
        db_path=journal.path,
        config=config,
        uploads=adapter,
        pulls=None,
        alerts=LogAlerts(),
    )


def batch_of(request: httpx.Request) -> UploadBatch:
    assert request.headers["content-encoding"] == "gzip"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["storehub-sync"] == "1"
    assert request.url.path == f"/v1/stores/{STORE}/outbox"
    return UploadBatch.model_validate_json(gzip.decompress(request.content))


def acks(batch: UploadBatch, keys: set[str] | None = None) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "acks": [
                {"key": r.key, "status": "stored"}
                for r in batch.records
                if keys is None or r.key in keys
            ]
        },
    )


async def test_one_batch_in_flight_and_prev_chains_each_stream(journal: Journal) -> None:
    await write(journal, "sales", 40)
    await write(journal, "traffic", 40)
    await journal.flush()
    seen: list[UploadBatch] = []
    failures = iter([True, False, True, False] + [False] * 100)

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/heads"):
            return httpx.Response(404)
        batch = batch_of(request)
        if next(failures):
            return httpx.Response(503)
        seen.append(batch)
        return acks(batch)

    async with fake_sync(journal, handler, batch_rows=15) as sync:
        assert await sync.drain() == 80
    heads: dict[str, int] = {}
    for batch in seen:  # each record's prev is what the previous acknowledged batch ended on
        for r in batch.records:
            assert r.prev == heads.get(r.stream, 0)
            heads[r.stream] = r.seq
    assert len(seen) == 6 and all(len(b.records) <= 15 for b in seen)


async def test_partial_acks_count_only_a_prefix_per_stream(journal: Journal) -> None:
    await write(journal, "sales", 6)
    await journal.flush()
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        batch = batch_of(request)
        if calls == 1:  # rows 1, 2 and 5 acknowledged: only 1 and 2 count
            return acks(batch, {batch.records[i].key for i in (0, 1, 4)})
        return acks(batch)

    async with fake_sync(journal, handler) as sync:
        assert await sync.drain() == 6
    assert calls == 2


async def test_a_refused_batch_is_halved_down_to_the_row(journal: Journal) -> None:
    await write(journal, "sales", 20)
    await journal.flush()
    sizes: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        batch = batch_of(request)
        sizes.append(len(batch.records))
        if any(r.data == {"stream": "sales", "n": 13} for r in batch.records):
            return httpx.Response(413, text="too large")  # one row the cloud never takes
        return acks(batch)

    async with fake_sync(journal, handler, batch_rows=16) as sync:
        assert await sync.drain() == 20
    assert sizes[0] == 16 and 1 in sizes
    rejected = sql(journal.path, "SELECT outbox_id, reason FROM sync_acks WHERE status='rejected'")
    assert [r[0] for r in rejected] == [14] and "413" in rejected[0][1]


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (httpx.Response(200, text="not json"), "unreadable"),
        (httpx.Response(502, text="bad gateway"), "502"),
        (httpx.Response(429, text="slow down"), "429"),
    ],
)
async def test_unusable_replies_are_retried(
    journal: Journal, response: httpx.Response, error: str
) -> None:
    await write(journal, "sales", 2)
    await journal.flush()
    replies = iter([response])

    def handler(request: httpx.Request) -> httpx.Response:
        batch = batch_of(request)
        return next(replies, None) or acks(batch)

    async with fake_sync(journal, handler) as sync:
        assert await sync.drain() == 2
        assert sync.metrics.batches.labels("unavailable")._value.get() == 1
    assert error in (sql(journal.path, "SELECT value FROM sync_state WHERE key='last_error'")[0][0])


async def test_sent_rows_are_purged_and_a_cloud_losing_them_is_reported(
    tmp_path: Path, journal: Journal, cloud: CloudServer
) -> None:
    await write(journal, "sales", 5)
    await journal.flush()
    alerts = LogAlerts()
    async with make_sync(journal, cloud.url, alerts=alerts, keep_sent_s=0, pulls=False) as sync:
        await sync.drain()
        assert await sync.purge() == 5
        assert sql(journal.path, "SELECT COUNT(*) FROM outbox")[0][0] == 0
        assert sql(journal.path, "SELECT purged_seq FROM sync_streams")[0][0] == 5
        # The cloud is restored from a backup older than anything the store still keeps.
        conn = sqlite3.connect(tmp_path / "cloud" / "cloud.db")
        conn.execute("DELETE FROM heads")
        conn.commit()
        conn.close()
        await sync.outbox.reconcile()
    lost = [a for a in alerts.raised if a.kind == "sync_cloud_lost"]
    assert len(lost) == 1 and lost[0].severity == "critical"
