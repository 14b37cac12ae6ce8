"""The live stream (Server-Sent Events) over real HTTP from the served plugin."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from hub.events import Alert, AlertChanged
from tests.conftest import Mosquitto, eventually
from tests.paho_device import PahoDevice
from tests.store_api.conftest import Served, bearer, make_token

pytestmark = pytest.mark.integration


async def sse(response: httpx.Response) -> AsyncIterator[tuple[str, Any]]:
    """(event, data) pairs of an event stream."""
    event, data = "message", list[str]()
    async for line in response.aiter_lines():
        if line == "":
            if data:
                yield event, json.loads("\n".join(data))
            event, data = "message", []
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())


async def test_stream_delivers_the_alert_of_a_device_going_offline(
    served: Served, mosquitto: Mosquitto
) -> None:
    token = await make_token(served.hub, "phone-1", "staff")
    door = PahoDevice("s1", "door-in", "door", mosquitto.port).start()
    door.birth()
    await eventually(lambda: served.hub.registry.get("door-in").online is True)  # type: ignore[union-attr]
    async with (
        httpx.AsyncClient(base_url=served.url, timeout=10) as client,
        client.stream("GET", f"/stream?types=alert,presence&token={token}") as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = sse(response)
        async with asyncio.timeout(10):
            name, hello = await anext(events)
            assert name == "hello" and hello == {"token": "phone-1", "types": ["alert", "presence"]}
            door.vanish()
            seen: list[str] = []
            async for name, data in events:  # noqa: B007 (data is used after the loop)
                seen.append(name)
                if name == "alert":
                    break
        assert seen[0] == "presence"
        assert data["change"] == "raised"
        alert = data["alert"]
        assert alert["kind"] == "device_offline" and alert["device"] == "door-in"
        assert alert["status"] == "open" and alert["notes"] == []

        # Acknowledged on another channel: the stream tells.
        await served.hub.alerts.acknowledge(alert["id"], "someone")
        async with asyncio.timeout(5):
            name, data = await anext(events)
        assert name == "alert" and data["change"] == "acknowledged"
        assert data["alert"]["acked_by"] == "someone"


async def test_stream_auth_and_types(served: Served) -> None:
    token = await make_token(served.hub, "phone-2", "hq")
    async with httpx.AsyncClient(base_url=served.url, timeout=5) as client:
        assert (await client.get("/stream")).status_code == 401
        assert (await client.get("/stream?token=shb_nope")).status_code == 401
        bad = await client.get("/stream?types=alert,DROP TABLE", headers=bearer(token))
        assert bad.status_code == 400 and "DROP TABLE" in bad.json()["detail"]
        async with client.stream(
            "GET", "/stream?types=device_event", headers=bearer(token)
        ) as response:
            events = sse(response)
            name, hello = await anext(events)
            assert hello["types"] == ["device_event"]
            await served.hub.alerts.raise_("x", "info", "not streamed")
            await served.hub.emit("door-in", "passage", _passage())
            name, data = await anext(events)
            assert name == "device_event" and data["device"] == "door-in"
            assert data["payload"]["direction"] == "in"


def _passage() -> Any:
    from devices.door.codec import Passage

    return Passage(ts=1.0, seq=1, direction="in")


async def test_a_slow_client_is_told_it_lagged(served: Served) -> None:
    token = await make_token(served.hub, "phone-3", "staff")
    async with (
        httpx.AsyncClient(base_url=served.url, timeout=10) as client,
        client.stream("GET", "/stream?types=alert", headers=bearer(token)) as response,
    ):
        events = sse(response)
        await anext(events)  # hello: subscribed
        [sub] = [s for s in served.hub.bus.subscriptions if s.name == "api-stream:phone-3"]
        assert sub.policy == "drop_oldest"
        alert = Alert(id="a", ts=1.0, severity="info", kind="flood", title="flood")
        for _ in range(1100):  # more than the stream's queue, with no pause for it to drain
            await served.hub.bus.publish(AlertChanged(change="repeated", alert=alert))
        async with asyncio.timeout(10):
            name, data = await anext(events)
        assert name == "lagged" and data == {"dropped": 100}


async def test_streams_end_when_the_server_stops(tmp_path: Any, mosquitto: Mosquitto) -> None:
    from tests.store_api.conftest import serve_api

    async for served in serve_api(tmp_path, mosquitto):
        token = await make_token(served.hub, "phone-4", "staff")
        client = httpx.AsyncClient(base_url=served.url, timeout=10)
        response = await client.send(
            client.build_request("GET", f"/stream?token={token}"), stream=True
        )
        events = sse(response)
        await anext(events)
        stopped = asyncio.get_running_loop().time()
    # Leaving serve_api stopped the hub; the stream ended promptly, not after a grace period.
    assert asyncio.get_running_loop().time() - stopped < 2.5
    rest = [name async for name, _ in events]  # the stream is over: nothing more comes
    assert rest == []
    await response.aclose()
    await client.aclose()
