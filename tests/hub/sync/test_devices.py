"""The ``device`` applier: HQ's device entries validated like the store file's, written to
``devices`` as provisioned (``source = 'cloud'``), refused whole when they may not be."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hub.journal import Journal
from hub.registry import provisioned_configs
from hub.sync import Change, ChangesPage
from tests.hub.sync.conftest import sql
from tests.hub.sync.test_inbox import make_inbox


def device(version: int, key: str, op: str = "upsert", **data: Any) -> Change:
    return Change.model_validate(
        {"version": version, "type": "device", "key": key, "op": op, "data": data}
    )


FRIDGE: dict[str, Any] = {
    "kind": "sensor",
    "zone": "dairy",
    "name": "Back fridge",
    "config": {"role": "fridge"},
}


async def test_a_valid_device_is_provisioned_and_a_delete_removes_it(journal: Journal) -> None:
    inbox = make_inbox(journal)
    result = await inbox.apply(
        ChangesPage(
            changes=[
                device(1, "fridge-9", **FRIDGE),
                device(2, "kiosk-7", kind="kiosk", config={"weight_tolerance_g": 25}),
            ],
            cursor=2,
        )
    )
    assert len(result.applied) == 2, result.quarantined
    rows = sql(journal.path, "SELECT id, kind, zone, role, name, source, removed FROM devices")
    assert sorted(tuple(r) for r in rows) == [
        ("fridge-9", "sensor", "dairy", "fridge", "Back fridge", "cloud", 0),
        ("kiosk-7", "kiosk", None, None, None, "cloud", 0),
    ]
    configs = {c.id: c for c in await journal.call(provisioned_configs)}
    assert configs["kiosk-7"].weight_tolerance_g == 25  # type: ignore[attr-defined]
    assert configs["fridge-9"].interval_s == 30  # type: ignore[attr-defined]  # the kind's default
    await inbox.apply(ChangesPage(changes=[device(3, "fridge-9", op="delete")], cursor=3))
    assert [c.id for c in await journal.call(provisioned_configs)] == ["kiosk-7"]
    removed = sql(journal.path, "SELECT removed FROM devices WHERE id = 'fridge-9'")
    assert removed[0][0] == 1  # kept for its journal and presence history
    docs = sql(journal.path, "SELECT key, data FROM sync_documents WHERE type = 'device'")
    assert [(r[0], json.loads(r[1])["kind"]) for r in docs] == [("kiosk-7", "kiosk")]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"kind": "sensor", "config": {"interval_s": 0}}, "config.interval_s: Input should be"),
        ({"kind": "sensor", "config": {"role": "oven"}}, "config.role: Input should be"),
        ({"kind": "sensor", "config": {"colour": "red"}}, "config.colour: Extra inputs"),
        ({"kind": "toaster"}, "kind: no driver for device kind 'toaster'"),
        ({"kind": "sensor", "config": {"password": "x"}}, "config.password: not accepted"),
        ({"kind": "sensor", "config": {"id": "other"}}, "config.id: 'other' is not"),
        ({"zone": "dairy"}, "kind: Field required"),
        (
            {
                "kind": "rfid_gate",
                "config": {
                    "format": "zebra",
                    "data_topic": "zebra/out",
                    "inside_antennas": [1],
                    "outside_antennas": [2],
                },
            },
            "rfid_gate reads its own topic (zebra/out): set it up in the store file",
        ),
    ],
)
async def test_a_bad_device_is_quarantined_with_the_reason(
    journal: Journal, data: dict[str, Any], reason: str
) -> None:
    result = await make_inbox(journal).apply(
        ChangesPage(changes=[device(1, "dev-1", **data)], cursor=1)
    )
    assert not result.applied
    assert result.quarantined[0].reason.startswith(reason), result.quarantined[0].reason
    assert sql(journal.path, "SELECT * FROM devices") == []
    assert sql(journal.path, "SELECT * FROM sync_documents") == []


async def test_a_store_file_device_is_refused(journal: Journal) -> None:
    await journal.call(
        lambda c: c.execute(
            "INSERT INTO devices(id, kind, config, source) VALUES ('door-in', 'door', '{}',"
            " 'config')"
        )
    )
    inbox = make_inbox(journal)
    result = await inbox.apply(
        ChangesPage(
            changes=[
                device(1, "door-in", kind="door", zone="entrance"),
                device(2, "door-in", op="delete"),
                device(3, "Not-An-Id", kind="door"),
            ],
            cursor=3,
        )
    )
    reasons = [q.reason for q in result.quarantined]
    assert "defined in the store file, which manages it" in reasons[0]
    assert "defined in the store file" in reasons[1]
    assert "is not a device id" in reasons[2]
    row = sql(journal.path, "SELECT kind, zone, source, removed FROM devices WHERE id='door-in'")
    assert tuple(row[0]) == ("door", None, "config", 0)
    # Once the store file no longer has it (the hub marked it removed at start), HQ may.
    await journal.call(lambda c: c.execute("UPDATE devices SET removed = 1 WHERE id='door-in'"))
    retried = await inbox.retry_quarantined(1)
    assert [r.outcome for r in retried] == ["applied"]
    row = sql(journal.path, "SELECT zone, source, removed FROM devices WHERE id='door-in'")
    assert tuple(row[0]) == ("entrance", "cloud", 0)
