"""Alert lifecycle through the API and in hub/alerts.py: ack, assign, notes, resolve,
escalation with a controllable clock, persistence across a restart."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from hub.alerts import AlertNotFound
from hub.config import AlertConfig
from hub.db import connect_reader
from hub.hub import Hub
from tests.conftest import Mosquitto, eventually
from tests.store_api.conftest import Clock, Tokens, bearer, hub_config, listener, raise_alert

pytestmark = pytest.mark.integration


async def test_lifecycle_through_the_api(
    hub: Hub, client: httpx.AsyncClient, tokens: Tokens
) -> None:
    alert_id = await raise_alert(
        hub, "help:kiosk-1", kind="help", device="kiosk-1", zone="checkout", title="Help at kiosk-1"
    )
    staff = bearer(tokens.staff)
    got = (await client.get(f"/alerts/{alert_id}", headers=staff)).json()
    assert got["status"] == "open" and got["kind"] == "help" and got["notes"] == []

    acked = (await client.post(f"/alerts/{alert_id}/ack", headers=staff)).json()
    assert acked["status"] == "acknowledged" and acked["acked_by"] == "floor-1"
    assert acked["acked_at"] is not None
    again = await client.post(f"/alerts/{alert_id}/ack", headers=bearer(tokens.admin))
    assert again.json()["acked_by"] == "floor-1"  # acknowledging twice changes nothing

    assigned = await client.post(
        f"/alerts/{alert_id}/assign", json={"assignee": "li.wei"}, headers=staff
    )
    assert assigned.json()["assignee"] == "li.wei"
    noted = await client.post(
        f"/alerts/{alert_id}/notes", json={"text": "till restarted"}, headers=staff
    )
    assert noted.status_code == 201
    [note] = noted.json()["notes"]
    assert note["author"] == "floor-1" and note["text"] == "till restarted"

    live = (await client.get("/alerts?status=live", headers=staff)).json()["items"]
    assert [a["id"] for a in live] == [alert_id] and live[0]["notes"][0]["text"] == "till restarted"

    done = (await client.post(f"/alerts/{alert_id}/resolve", headers=staff)).json()
    assert done["status"] == "resolved" and done["resolved_by"] == "floor-1"
    assert (await client.get("/alerts?status=live", headers=staff)).json()["items"] == []
    resolved = (await client.get("/alerts?status=resolved", headers=staff)).json()["items"]
    assert resolved[0]["id"] == alert_id and resolved[0]["assignee"] == "li.wei"
    assert resolved[0]["notes"][0]["author"] == "floor-1"

    for action in ("ack", "resolve"):
        late = await client.post(f"/alerts/{alert_id}/{action}", headers=staff)
        assert late.status_code == 409 and "resolved" in late.json()["detail"]
    missing = await client.post("/alerts/nope/ack", headers=staff)
    assert missing.status_code == 404 and "nope" in missing.json()["detail"]
    assert (await client.get("/alerts/nope", headers=staff)).status_code == 404

    await hub.journal.flush()
    conn = connect_reader(hub.db_path)
    changes = [
        json.loads(r[0])["change"]
        for r in conn.execute("SELECT data FROM journal WHERE type='alert' ORDER BY id")
    ]
    conn.close()
    assert changes == ["raised", "acknowledged", "assigned", "noted", "resolved"]
    assert hub.alerts.changes.labels("noted")._value.get() == 1


@pytest.mark.parametrize(
    ("path", "body", "needle"),
    [
        ("assign", {}, "assignee"),
        ("assign", {"assignee": "x" * 65}, "assignee"),
        ("notes", {"text": ""}, "text"),
        ("notes", {"text": "ok", "extra": 1}, "extra"),
        ("notes", None, "body"),
    ],
)
async def test_bad_alert_requests_name_the_field(
    hub: Hub, client: httpx.AsyncClient, tokens: Tokens, path: str, body: object, needle: str
) -> None:
    alert_id = await raise_alert(hub, "bad-request")
    res = await client.post(f"/alerts/{alert_id}/{path}", json=body, headers=bearer(tokens.staff))
    assert res.status_code == 422
    assert needle in res.json()["detail"], res.json()


async def test_list_filters_and_pages(
    hub: Hub, client: httpx.AsyncClient, tokens: Tokens, clock: Clock
) -> None:
    for i in range(7):
        clock.advance(1)
        await raise_alert(
            hub,
            f"k{i}",
            kind="even" if i % 2 == 0 else "odd",
            severity="critical" if i == 3 else "warning",
        )
    h = bearer(tokens.hq)
    evens = (await client.get("/alerts?kind=even", headers=h)).json()["items"]
    assert len(evens) == 4 and all(a["kind"] == "even" for a in evens)
    crit = (await client.get("/alerts?severity=critical", headers=h)).json()["items"]
    assert [a["key"] for a in crit] == ["k3"]
    seen: list[str] = []
    url = "/alerts?limit=3"
    while True:
        page = (await client.get(url, headers=h)).json()
        seen += [a["key"] for a in page["items"]]
        if page["next"] is None:
            break
        url = f"/alerts?limit=3&before={page['next']}"
    assert seen == [f"k{i}" for i in reversed(range(7))]
    assert (await client.get("/alerts?status=bogus", headers=h)).status_code == 422


async def test_escalation_after_minutes_unacknowledged(
    hub: Hub, client: httpx.AsyncClient, tokens: Tokens, clock: Clock, mosquitto: Mosquitto
) -> None:
    hub.alerts.config = AlertConfig(escalate_after_min=3, escalate_to="manager")
    staff_phone = await listener(mosquitto, "store/s1/alert")
    slow = await hub.alerts.raise_("help", "warning", "Help at kiosk-2", device="kiosk-2")
    quick = await hub.alerts.raise_("help", "info", "Help at kiosk-1", device="kiosk-1")
    await hub.alerts.acknowledge(quick.id, "floor-1")
    await eventually(lambda: len(staff_phone.messages) == 2)

    clock.advance(2 * 60)
    assert await hub.alerts.escalate_due() == []
    clock.advance(61)
    [escalated] = await hub.alerts.escalate_due()
    assert escalated.id == slow.id and escalated.severity == "critical"
    assert escalated.escalated_to == "manager" and escalated.data["escalated_to"] == "manager"
    assert await hub.alerts.escalate_due() == []  # once only
    clock.advance(3600)
    assert await hub.alerts.escalate_due() == []

    await eventually(lambda: len(staff_phone.messages) == 3)
    _, wire = staff_phone.messages[-1]
    assert isinstance(wire, dict)
    assert wire["id"] == slow.id and wire["severity"] == "critical"
    assert wire["data"]["escalated_to"] == "manager"
    assert set(wire) == {"id", "ts", "severity", "kind", "title", "device", "zone", "data"}

    got = (await client.get(f"/alerts/{slow.id}", headers=bearer(tokens.staff))).json()
    assert got["escalated_to"] == "manager" and got["severity"] == "critical"
    assert hub.alerts.changes.labels("escalated")._value.get() == 1
    staff_phone.stop()


async def test_escalation_loop_runs_periodically(hub: Hub, clock: Clock) -> None:
    hub.alerts.config = AlertConfig(escalate_after_min=1, escalate_check_s=0.05)
    alert = await hub.alerts.raise_("help", "info", "Help", device="kiosk-1")
    task = hub.spawn(hub.alerts.run(), "escalation-test")
    clock.advance(61)
    await eventually(lambda: hub.alerts.get(alert.id).escalated_to == "manager")
    assert hub.alerts.get(alert.id).severity == "warning"
    task.cancel()


async def test_escalation_can_be_switched_off(hub: Hub, clock: Clock) -> None:
    hub.alerts.config = AlertConfig(escalate_after_min=0)
    await hub.alerts.raise_("help", "info", "Help", device="kiosk-1")
    clock.advance(10 * 3600)
    assert await hub.alerts.escalate_due() == []


async def test_lifecycle_survives_a_restart(tmp_path: Path, mosquitto: Mosquitto) -> None:
    cfg = hub_config(tmp_path, mosquitto)
    async with Hub(cfg, plugins=[]) as hub:
        alert = await hub.alerts.raise_("help", "warning", "Help", device="kiosk-1")
        await hub.alerts.assign(alert.id, "li.wei", by="manager")
        await hub.alerts.add_note(alert.id, "manager", "first")
        await hub.alerts.add_note(alert.id, "li.wei", "second")
        await hub.alerts.acknowledge(alert.id, "li.wei")
        gone = await hub.alerts.raise_("help", "warning", "Help", device="kiosk-2")
        await hub.alerts.resolve(alert_id=gone.id, by="li.wei")
    async with Hub(cfg, plugins=[]) as hub:
        [back] = hub.alerts.live()
        assert back.id == alert.id and back.assignee == "li.wei"
        assert back.status == "acknowledged" and back.acked_by == "li.wei"
        assert [(n.author, n.text) for n in back.notes] == [
            ("manager", "first"),
            ("li.wei", "second"),
        ]
        with pytest.raises(AlertNotFound):
            hub.alerts.get(gone.id)
