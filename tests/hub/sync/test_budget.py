"""The disk budget: the 80 % warning and the documented policy at 100 %."""

from __future__ import annotations

import json
from typing import Any

from hub.journal import Journal
from hub.sync import LogAlerts
from hub.sync.budget import DiskBudget
from hub.sync.metrics import SyncMetrics
from hub.sync.store import ROW_OVERHEAD
from simulators.cloud import CloudServer
from tests.hub.sync.conftest import fast_config, make_sync, sql, write

BUDGET = 10_000
ROW = len(json.dumps({"stream": "sales", "n": 10})) + ROW_OVERHEAD  # ~ what one row costs


def budget(journal: Journal, alerts: LogAlerts, **overrides: Any) -> DiskBudget:
    config = fast_config(budget_bytes=BUDGET, **overrides)
    return DiskBudget(
        journal=journal, db_path=journal.path, config=config, alerts=alerts, metrics=SyncMetrics()
    )


def count(journal: Journal, stream: str) -> int:
    return int(
        sql(journal.path, "SELECT COUNT(*) FROM outbox WHERE stream = ? AND sent IS NULL", stream)[
            0
        ][0]
    )


async def test_warning_at_80_then_oldest_low_value_rows_dropped_at_100(journal: Journal) -> None:
    alerts = LogAlerts()
    watch = budget(journal, alerts)
    await write(journal, "sales", int(BUDGET * 0.85 / ROW), start=10)
    await journal.flush()
    report = await watch.check()
    assert 0.8 <= report.ratio < 1.0 and not report.dropped
    assert alerts.kinds() == ["sync_budget_warning"]
    assert watch.metrics.budget_ratio._value.get() == report.ratio

    await write(journal, "device_health", 10, start=10)
    await write(journal, "traffic", 30, start=10)
    await journal.flush()
    sales_before = count(journal, "sales")
    report = await watch.check()
    assert report.ratio < 1.0  # back under budget, by dropping
    assert count(journal, "sales") == sales_before  # never sales
    dropped = {d.stream: d for d in report.dropped}
    assert set(dropped) == {"device_health", "traffic"}
    assert dropped["device_health"].rows == 10  # the oldest droppable rows went first
    kept = [
        r[0]
        for r in sql(
            journal.path,
            "SELECT json_extract(data, '$.n') FROM outbox WHERE stream = 'traffic' ORDER BY id",
        )
    ]
    assert kept == list(range(40 - len(kept), 40))  # the newest traffic survived
    notices = [
        json.loads(r[0])
        for r in sql(journal.path, "SELECT data FROM outbox WHERE stream = 'sync' ORDER BY id")
    ]
    assert {n["stream"]: n["rows"] for n in notices} == {s: d.rows for s, d in dropped.items()}
    booked = {
        r[0]: r[1] for r in sql(journal.path, "SELECT stream, dropped_rows FROM sync_streams")
    }
    assert booked == {s: d.rows for s, d in dropped.items()}
    assert alerts.kinds().count("sync_rows_dropped") == 2
    assert "sync_budget_full" not in alerts.kinds()
    assert watch.metrics.dropped.labels("traffic")._value.get() == dropped["traffic"].rows


async def test_sales_alone_over_budget_are_all_kept_and_raise_critical(
    journal: Journal, cloud: CloudServer
) -> None:
    alerts = LogAlerts()
    watch = budget(journal, alerts)
    rows = int(BUDGET * 1.3 / ROW)
    await write(journal, "sales", rows, start=10)
    await journal.flush()
    report = await watch.check()
    assert report.ratio > 1.0 and not report.dropped
    assert count(journal, "sales") == rows
    full = [a for a in alerts.raised if a.kind == "sync_budget_full"]
    assert len(full) == 1 and full[0].severity == "critical"
    assert full[0].data["streams"]["sales"] > BUDGET
    await watch.check()
    assert alerts.kinds().count("sync_budget_full") == 1  # raised once, not at every look

    async with make_sync(journal, cloud.url) as sync:  # the link is back
        await sync.drain()
    report = await watch.check()
    assert report.ratio == 0 and alerts.live == {}  # both alerts resolved


async def test_the_batch_in_flight_is_never_dropped(journal: Journal) -> None:
    alerts = LogAlerts()
    watch = budget(journal, alerts)
    await write(journal, "traffic", int(BUDGET * 1.5 / ROW), start=10)
    await journal.flush()
    first, last = (int(v) for v in sql(journal.path, "SELECT MIN(id), MIN(id) + 9 FROM outbox")[0])
    watch.inflight = lambda: (first, last)
    report = await watch.check()
    assert report.dropped and report.dropped[0].first > last
    ids = [r[0] for r in sql(journal.path, "SELECT id FROM outbox WHERE stream='traffic'")]
    assert ids[:10] == list(range(first, last + 1))
