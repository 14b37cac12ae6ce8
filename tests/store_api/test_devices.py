"""Devices through the API: presence, detail, history, commands that reach a plain-paho device."""

from __future__ import annotations

import httpx
import pytest

from hub.hub import Hub
from tests.conftest import Mosquitto, eventually
from tests.paho_device import PahoDevice
from tests.store_api.conftest import Tokens, bearer

pytestmark = pytest.mark.integration


async def test_list_detail_and_presence_history(
    hub: Hub, client: httpx.AsyncClient, tokens: Tokens, mosquitto: Mosquitto
) -> None:
    h = bearer(tokens.staff)
    devices = (await client.get("/devices", headers=h)).json()
    assert {d["id"] for d in devices} == {d.id for d in hub.config.store.devices}
    assert {"door-in", "door-out", "gate-out", "kiosk-1"} <= {d["id"] for d in devices}
    assert all(d["status"] == "unknown" and d["online"] is None for d in devices)

    door = PahoDevice("s1", "door-in", "door", mosquitto.port).start()
    door.birth()
    await eventually(lambda: hub.registry.get("door-in").online is True)  # type: ignore[union-attr]
    door.vanish()
    await eventually(lambda: hub.registry.get("door-in").online is False)  # type: ignore[union-attr]

    offline = (await client.get("/devices?status=offline", headers=h)).json()
    assert [d["id"] for d in offline] == ["door-in"]
    assert offline[0]["model"] == "paho" and offline[0]["since"] is not None
    doors = (await client.get("/devices?kind=door", headers=h)).json()
    assert {d["id"] for d in doors} == {"door-in", "door-out"}

    detail = (await client.get("/devices/door-in", headers=h)).json()
    assert detail["commands"] == ["lock", "open", "release"]
    assert detail["events"] == ["credential", "door", "forced", "passage", "request"]
    assert detail["config"]["role"] == "entry" and "password" not in detail["config"]

    history = (await client.get("/devices/door-in/presence", headers=h)).json()
    assert [p["online"] for p in history["items"]] == [False, True]
    first = (await client.get("/devices/door-in/presence?limit=1", headers=h)).json()
    assert len(first["items"]) == 1 and first["next"] is not None
    rest = (
        await client.get(f"/devices/door-in/presence?before_id={first['next']}", headers=h)
    ).json()
    assert [p["online"] for p in rest["items"]] == [True] and rest["next"] is None

    for path in ("/devices/ghost", "/devices/ghost/presence"):
        res = await client.get(path, headers=h)
        assert res.status_code == 404 and "ghost" in res.json()["detail"]


async def test_command_reaches_a_paho_device_and_returns_its_outcome(
    hub: Hub, client: httpx.AsyncClient, tokens: Tokens, mosquitto: Mosquitto
) -> None:
    door = PahoDevice("s1", "door-in", "door", mosquitto.port).start()
    res = await client.post(
        "/devices/door-in/commands/open",
        headers=bearer(tokens.staff),
        json={"args": {"seconds": 4, "session": "s-9"}},
    )
    assert res.status_code == 200, res.text
    outcome = res.json()
    assert outcome["outcome"] == "ok" and outcome["device"] == "door-in"
    assert outcome["args"] == {"seconds": 4, "session": "s-9"}
    sent = door.commands[-1]
    assert sent["name"] == "open" and sent["seconds"] == 4 and sent["id"] == outcome["id"]

    door.seen_ids.add("x")
    door.auto_reply = False
    silent = await client.post(
        "/devices/door-in/commands/lock", headers=bearer(tokens.admin), json={"ttl": 0.3}
    )
    assert silent.status_code == 200 and silent.json()["outcome"] == "timeout"
    door.stop()


async def test_empty_body_uses_the_defaults(
    client: httpx.AsyncClient, tokens: Tokens, mosquitto: Mosquitto
) -> None:
    door = PahoDevice("s1", "door-out", "door", mosquitto.port).start()
    res = await client.post("/devices/door-out/commands/open", headers=bearer(tokens.staff))
    assert res.status_code == 200 and res.json()["outcome"] == "ok"
    assert door.commands[-1]["seconds"] == 5
    door.stop()


@pytest.mark.parametrize(
    ("path", "body", "status", "needle"),
    [
        ("/devices/ghost/commands/open", {}, 404, "ghost"),
        ("/devices/door-in/commands/self_destruct", {}, 422, "unknown command 'self_destruct'"),
        ("/devices/door-in/commands/open", {"args": {"seconds": 0}}, 422, "seconds"),
        ("/devices/door-in/commands/open", {"args": {"colour": "red"}}, 422, "colour"),
        ("/devices/door-in/commands/open", {"args": {"id": "x"}}, 422, "set by the hub"),
        ("/devices/door-in/commands/open", {"ttl": -1}, 422, "ttl"),
        ("/devices/door-in/commands/open", {"args": []}, 422, "args"),
    ],
)
async def test_bad_commands_are_4xx_with_a_clear_message(
    client: httpx.AsyncClient, tokens: Tokens, path: str, body: object, status: int, needle: str
) -> None:
    res = await client.post(path, json=body, headers=bearer(tokens.admin))
    assert res.status_code == status, res.text
    assert needle in res.json()["detail"]


async def test_staff_commands_follow_the_config(client: httpx.AsyncClient, tokens: Tokens) -> None:
    res = await client.post(
        "/devices/gate-out/commands/alarm",
        headers=bearer(tokens.staff),
        json={"args": {"pattern": "theft", "seconds": 1}},
    )
    assert res.status_code == 403
    assert res.json()["detail"] == "token 'floor-1' may not send 'alarm' to rfid_gate devices"
