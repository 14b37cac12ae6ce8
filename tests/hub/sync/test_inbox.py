"""Inbox ← cloud: version order, idempotent re-apply, quarantine, the built-in appliers,
long polling against the reference backend."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.journal import Journal
from hub.sync import Change, ChangesPage, Inbox, LogAlerts, Sync
from hub.sync.errors import ChangeRejected
from hub.sync.metrics import SyncMetrics
from hub.sync.protocol import parse_changes_page
from simulators.cloud import CloudServer, PublishChange
from tests.conftest import eventually
from tests.hub.sync.conftest import fast_config, make_sync, sql

GTIN = "6901234567892"  # a valid EAN-13


def publish(cloud: CloudServer, *changes: dict[str, Any]) -> list[int]:
    return cloud.store.publish([PublishChange.model_validate(c) for c in changes])


def make_inbox(journal: Journal, alerts: LogAlerts | None = None) -> Inbox:
    class NoCloud:  # apply() alone needs no adapter
        async def pull(self, cursor: int, *, wait: float) -> ChangesPage:
            raise AssertionError("not used")

    return Inbox(
        journal=journal,
        adapter=NoCloud(),  # type: ignore[arg-type]
        config=fast_config(),
        alerts=alerts or LogAlerts(),
        metrics=SyncMetrics(),
    )


def member(version: int, key: str, name: str, **data: Any) -> Change:
    return Change(version=version, type="member", key=key, data={"name": name, **data})


async def test_published_changes_reach_their_tables(journal: Journal, cloud: CloudServer) -> None:
    publish(
        cloud,
        {
            "type": "member",
            "key": "m1",
            "data": {"name": "Li Lei", "vip": True, "account_manager": "staff-7", "tier": "gold"},
        },
        {"type": "plate", "key": "京a·12345", "data": {"member_id": "m1"}},
        {
            "type": "catalog.item",
            "key": GTIN,
            "data": {
                "name": "Oolong tea 500 ml",
                "price": 450,
                "tax_rate": "0.13",
                "shelf": "ignored",
            },
        },
        {"type": "price", "key": GTIN, "data": {"price": 420, "effective_at": 1.0e9}},
        {
            "type": "promotion",
            "key": "p-tea",
            "data": {"type": "percent_off", "percent": "10", "items": ["06901234567892"]},
        },
        {"type": "device", "key": "kiosk-3", "data": {"kind": "kiosk", "zone": "checkout"}},
        {"type": "member", "key": "m2", "data": {"name": "Han Meimei"}, "stores": ["s2"]},
    )
    async with make_sync(journal, cloud.url) as sync:
        assert sync.inbox is not None
        result = await sync.inbox.pull_once()
    assert len(result.applied) == 6 and not result.quarantined and result.cursor == 6
    db = journal.path
    assert [
        tuple(r) for r in sql(db, "SELECT id, name, vip, account_manager FROM sync_members")
    ] == [("m1", "Li Lei", 1, "staff-7")]  # m2 is another store's
    assert [tuple(r) for r in sql(db, "SELECT plate, member_id FROM sync_plates")] == [
        ("京A12345", "m1")
    ]
    assert [tuple(r) for r in sql(db, "SELECT gtin, name, price, tax_rate FROM items")] == [
        ("06901234567892", "Oolong tea 500 ml", 450, "0.13")
    ]
    docs = {
        (r[0], r[1]): json.loads(r[2])
        for r in sql(db, "SELECT type, key, data FROM sync_documents")
    }
    assert docs[("price", "06901234567892")]["price"] == 420
    assert docs[("promotion", "p-tea")]["type"] == "percent_off"
    assert docs[("device", "kiosk-3")]["zone"] == "checkout"
    state = {r[0]: r[1] for r in sql(db, "SELECT key, value FROM sync_state")}
    assert state["inbox_cursor"] == "6"


async def test_version_order_and_idempotent_reapply(journal: Journal) -> None:
    inbox = make_inbox(journal)
    page = ChangesPage(
        changes=[member(5, "m1", "newest"), member(3, "m1", "older"), member(4, "m2", "other")],
        cursor=5,
    )
    first = await inbox.apply(page)
    assert [c.version for c in first.applied] == [3, 4, 5]
    again = await inbox.apply(page)  # a re-delivery: nothing applies twice
    assert again.applied == [] and again.skipped == 3
    stale = await inbox.apply(ChangesPage(changes=[member(2, "m1", "ancient")], cursor=2))
    assert stale.skipped == 1 and inbox.cursor == 5
    rows = sql(journal.path, "SELECT id, name, version FROM sync_members ORDER BY id")
    assert [tuple(r) for r in rows] == [("m1", "newest", 5), ("m2", "other", 4)]
    log = sql(journal.path, "SELECT version, status FROM sync_inbox ORDER BY version")
    assert [tuple(r) for r in log] == [(3, "applied"), (4, "applied"), (5, "applied")]


async def test_invalid_changes_are_quarantined_not_half_applied(journal: Journal) -> None:
    alerts = LogAlerts()
    inbox = make_inbox(journal, alerts)

    def half_then_fail(conn: sqlite3.Connection, change: Change) -> None:
        conn.execute("INSERT INTO sync_members(id, name, data, version) VALUES ('x','x','{}',1)")
        raise ChangeRejected("stock level below zero")

    inbox.register_applier("stock", half_then_fail)
    page = ChangesPage(
        changes=[
            member(1, "m1", "ok"),
            Change(version=2, type="member", key="m2", data={"vip": True}),  # no name
            Change(version=3, type="plate", key="not a plate!", data={"member_id": "m1"}),
            Change(
                version=4, type="catalog.item", key="6901234567890", data={"name": "x", "price": 1}
            ),
            Change(version=5, type="stock", key="s", data={}),
            Change(version=6, type="weather", key="today", data={}),
            member(7, "m3", "after the bad ones"),
        ],
        cursor=7,
    )
    result = await inbox.apply(page)
    assert [c.key for c in result.applied] == ["m1", "m3"]
    reasons = {q.version: q.reason for q in result.quarantined}
    assert reasons[2] == "name: Field required"
    assert "licence plate" in reasons[3]
    assert "check digit" in reasons[4]
    assert reasons[5] == "stock level below zero"
    assert reasons[6] == "no applier for change type 'weather'"
    assert [r[0] for r in sql(journal.path, "SELECT id FROM sync_members ORDER BY id")] == [
        "m1",
        "m3",
    ]  # the failing applier's own insert was rolled back
    stored = sql(journal.path, "SELECT version, data FROM sync_quarantine ORDER BY version")
    assert [r[0] for r in stored] == [2, 3, 4, 5, 6]
    assert json.loads(stored[0][1])["data"] == {"vip": True}
    assert alerts.kinds().count("sync_inbox_quarantine") == 5
    assert inbox.metrics.inbox_quarantined.labels("member")._value.get() == 1
    assert inbox.cursor == 7


async def test_a_change_that_does_not_parse_is_quarantined_in_place(journal: Journal) -> None:
    body = json.dumps(
        {
            "cursor": 3,
            "more": False,
            "changes": [
                {"version": 1, "type": "member", "key": "m1", "data": {"name": "a"}},
                {"version": 2, "key": "m2", "data": "not an object"},
                {"version": 3, "type": "member", "key": "m3", "data": {"name": "c"}},
            ],
        }
    ).encode()
    page = parse_changes_page(body)
    assert [c.version for c in page.changes] == [1, 3] and page.invalid[0].version == 2
    result = await make_inbox(journal).apply(page)
    assert [q.version for q in result.quarantined] == [2]
    assert result.quarantined[0].reason.startswith("type: Field required")


async def test_a_disk_error_retries_the_whole_page(journal: Journal) -> None:
    inbox = make_inbox(journal)
    broken = True

    def flaky(conn: sqlite3.Connection, change: Change) -> None:
        if broken:
            raise sqlite3.OperationalError("disk I/O error")
        conn.execute(
            "INSERT INTO sync_documents(type, key, version, data, updated)"
            " VALUES ('flaky', ?, ?, '{}', 0)",
            (change.key, change.version),
        )

    inbox.register_applier("flaky", flaky)
    page = ChangesPage(
        changes=[member(1, "m1", "a"), Change(version=2, type="flaky", key="k")], cursor=2
    )
    with pytest.raises(sqlite3.OperationalError):
        await inbox.apply(page)
    assert sql(journal.path, "SELECT * FROM sync_members") == []  # nothing, not half
    assert sql(journal.path, "SELECT * FROM sync_quarantine") == []
    broken = False
    inbox.cursor = 0
    assert len((await inbox.apply(page)).applied) == 2


async def test_deletes_and_the_catalog_reload_hook(journal: Journal) -> None:
    inbox = make_inbox(journal)
    reloaded: list[list[str]] = []

    async def hook(changes: list[Change]) -> None:
        reloaded.append([c.key for c in changes])

    inbox.on_applied("catalog.item", hook)
    await inbox.apply(
        ChangesPage(
            changes=[
                Change(version=1, type="catalog.item", key=GTIN, data={"name": "tea", "price": 1}),
                member(2, "m1", "a"),
                Change(version=3, type="plate", key="沪B99999", data={"member_id": "m1"}),
            ],
            cursor=3,
        )
    )
    await inbox.apply(
        ChangesPage(
            changes=[
                Change(version=4, type="catalog.item", key=GTIN, op="delete"),
                Change(version=5, type="member", key="m1", op="delete"),
            ],
            cursor=5,
        )
    )
    assert reloaded == [[GTIN], [GTIN]]
    for table in ("items", "sync_members", "sync_plates"):
        assert sql(journal.path, f"SELECT * FROM {table}") == []


async def test_long_poll_applies_a_publish_at_once(journal: Journal, cloud: CloudServer) -> None:
    async with make_sync(journal, cloud.url, pull_wait_s=5.0) as sync:
        assert sync.inbox is not None
        runner = asyncio.create_task(sync.inbox.run())
        await asyncio.sleep(0.3)  # the pull is now parked in the cloud
        t0 = time.monotonic()
        async with httpx.AsyncClient(base_url=cloud.url) as admin:
            r = await admin.post(
                "/admin/changes",
                json={
                    "changes": [
                        {"type": "member", "key": "vip-1", "data": {"name": "Wang", "vip": True}}
                    ]
                },
            )
            assert r.status_code == 200
        await eventually(lambda: sync.inbox is not None and sync.inbox.cursor == 1, timeout=3)
        assert time.monotonic() - t0 < 1.5  # not the 5 s poll
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)


async def test_inbox_resumes_from_its_cursor_after_restart(
    tmp_path: Path, journal: Journal, cloud: CloudServer
) -> None:
    publish(
        cloud, *({"type": "member", "key": f"m{i}", "data": {"name": str(i)}} for i in range(3))
    )
    sync: Sync
    async with make_sync(journal, cloud.url) as sync:
        assert sync.inbox is not None
        await sync.inbox.pull_once()
    publish(cloud, {"type": "member", "key": "m0", "data": {"name": "renamed"}})
    async with make_sync(journal, cloud.url) as sync:  # a new process, the same database
        assert sync.inbox is not None
        result = await sync.inbox.pull_once()
    assert [c.version for c in result.applied] == [4]
    assert sql(journal.path, "SELECT name FROM sync_members WHERE id='m0'")[0][0] == "renamed"
