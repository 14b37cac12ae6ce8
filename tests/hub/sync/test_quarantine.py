"""Retrying quarantined inbox changes: applied now, still refused, or superseded."""

from __future__ import annotations

import sqlite3

from hub.journal import Journal
from hub.sync import Change, ChangeRejected, ChangesPage, LogAlerts
from tests.hub.sync.conftest import sql
from tests.hub.sync.test_inbox import make_inbox, member


def planogram(version: int, key: str = "aisle-3") -> Change:
    return Change(version=version, type="planogram", key=key, data={"bays": 4})


def store_planogram(conn: sqlite3.Connection, change: Change) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO sync_documents(type, key, version, data, updated)"
        " VALUES ('planogram', ?, ?, '{}', 0)",
        (change.key, change.version),
    )


async def test_a_change_that_applies_now_leaves_quarantine_and_fires_its_hooks(
    journal: Journal,
) -> None:
    alerts = LogAlerts()
    inbox = make_inbox(journal, alerts)
    first = await inbox.apply(ChangesPage(changes=[planogram(1), member(2, "m1", "a")], cursor=2))
    assert [q.version for q in first.quarantined] == [1]
    assert "sync_inbox_quarantine:planogram" in alerts.live
    hooked: list[list[str]] = []

    async def hook(changes: list[Change]) -> None:
        hooked.append([c.key for c in changes])

    inbox.register_applier("planogram", store_planogram)  # the store learnt the type
    inbox.on_applied("planogram", hook)
    retried = await inbox.retry_quarantined()
    assert [(r.version, r.outcome, r.reason) for r in retried] == [(1, "applied", None)]
    assert hooked == [["aisle-3"]]
    assert sql(journal.path, "SELECT * FROM sync_quarantine") == []
    log = sql(journal.path, "SELECT version, status FROM sync_inbox ORDER BY version")
    assert [tuple(r) for r in log] == [(1, "applied"), (2, "applied")]
    assert sql(journal.path, "SELECT key, version FROM sync_documents")[0][1] == 1
    assert "sync_inbox_quarantine:planogram" not in alerts.live
    assert inbox.metrics.inbox_applied.labels("planogram")._value.get() == 1
    assert inbox.cursor == 2  # the cursor is not the quarantine's business
    assert await inbox.retry_quarantined() == []


async def test_a_change_still_refused_stays_with_the_new_reason(journal: Journal) -> None:
    alerts = LogAlerts()
    inbox = make_inbox(journal, alerts)
    await inbox.apply(ChangesPage(changes=[planogram(1)], cursor=1))

    def still_broken(conn: sqlite3.Connection, change: Change) -> None:
        conn.execute(
            "INSERT INTO sync_members(id, name, data, version) VALUES ('half', 'x', '{}', 1)"
        )
        raise ChangeRejected("bay count above the aisle's length")

    inbox.register_applier("planogram", still_broken)
    hooked: list[Change] = []

    async def hook(changes: list[Change]) -> None:
        hooked.extend(changes)

    inbox.on_applied("planogram", hook)
    retried = await inbox.retry_quarantined()
    assert [(r.outcome, r.reason) for r in retried] == [
        ("quarantined", "bay count above the aisle's length")
    ]
    stored = sql(journal.path, "SELECT version, reason FROM sync_quarantine")
    assert [tuple(r) for r in stored] == [(1, "bay count above the aisle's length")]
    assert sql(journal.path, "SELECT * FROM sync_members") == []  # not half-applied
    assert sql(journal.path, "SELECT status FROM sync_inbox")[0][0] == "quarantined"
    assert hooked == [] and "sync_inbox_quarantine:planogram" in alerts.live


async def test_a_change_a_later_version_replaced_is_dropped_as_superseded(
    journal: Journal,
) -> None:
    inbox = make_inbox(journal)
    await inbox.apply(
        ChangesPage(
            changes=[
                Change(version=1, type="member", key="m1", data={"vip": True}),  # no name
                Change(version=2, type="member", key="m2", data={}),  # no name either
                member(3, "m1", "Li Lei"),
            ],
            cursor=3,
        )
    )
    assert len(sql(journal.path, "SELECT * FROM sync_quarantine")) == 2
    only = await inbox.retry_quarantined(1)  # one version: the other one is not touched
    assert [(r.version, r.outcome) for r in only] == [(1, "superseded")]
    assert [r[0] for r in sql(journal.path, "SELECT version FROM sync_quarantine")] == [2]
    assert tuple(sql(journal.path, "SELECT name, version FROM sync_members")[0]) == ("Li Lei", 3)
    log = sql(journal.path, "SELECT version, status FROM sync_inbox ORDER BY version")
    assert [tuple(r) for r in log] == [(1, "superseded"), (2, "quarantined"), (3, "applied")]
    assert await inbox.retry_quarantined(99) == []
