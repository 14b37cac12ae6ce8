"""simulators.door: open/lock/release behaviour and passages, seen on the wire."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import socket
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiomqtt
import pytest

from devices.door.codec import DoorState
from devices.door.config import DoorConfig
from hub.config import EnvSettings, load_config
from hub.hub import Hub
from simulators.base import SimulatorError, endpoint_for
from simulators.door import DoorSimulator
from simulators.errors import DoorLocked
from tests.simulators.conftest import DEMO, STORE, Broker, Watcher, demo_device, wait_reply

EXIT = demo_device("door-out", DoorConfig)


def door_states(w: Watcher) -> list[bool]:
    return [DoorState.model_validate_json(m.payload).open for m in w.on("door-out/event/door")]


async def test_open_replies_ok_then_opens_and_closes_after_seconds(
    broker: Broker, watcher: Watcher
) -> None:
    async with DoorSimulator(EXIT, STORE, broker.endpoint) as door:
        sent = time.monotonic()
        await watcher.command("door-out", "open", id="o1", seconds=1, session="sale-1")
        reply = await wait_reply(watcher, "door-out", "o1")
        assert reply == {"id": "o1", "ok": True, "error": None, "open": True, "released": False}
        await watcher.wait_for(lambda ms: door_states(watcher) == [True, False], timeout=3)
        assert time.monotonic() - sent >= 1.0
        assert not door.is_open


async def test_a_second_open_extends_and_release_holds_until_lock(
    broker: Broker, watcher: Watcher
) -> None:
    async with DoorSimulator(EXIT, STORE, broker.endpoint) as door:
        await watcher.command("door-out", "open", id="a", seconds=1)
        await wait_reply(watcher, "door-out", "a")
        await watcher.command("door-out", "release", id="b", reason="fire alarm")
        await wait_reply(watcher, "door-out", "b")
        await asyncio.sleep(1.2)  # the open's timer would have closed it by now
        assert door.is_open and door.released and door_states(watcher) == [True]
        await watcher.command("door-out", "open", id="c", seconds=1)
        assert (await wait_reply(watcher, "door-out", "c"))["open"] is True
        await watcher.command("door-out", "lock", id="d")
        assert (await wait_reply(watcher, "door-out", "d"))["open"] is False
        await watcher.wait_for(lambda ms: door_states(watcher) == [True, False])
        assert not door.released


async def test_passages_force_and_pass_through(broker: Broker, watcher: Watcher) -> None:
    async with DoorSimulator(EXIT, STORE, broker.endpoint) as door:
        await door.passage("out")
        await door.force()
        await door.pass_through("out")
    names = [
        m.topic.rsplit("/", 1)[1]
        for m in await watcher.wait_for(lambda ms: len(watcher.on("door-out/state")) == 2)
        if "/event/" in m.topic
    ]
    assert names == ["passage", "forced", "door", "passage", "door"]
    assert door_states(watcher) == [True, False]


# --- unmanned checkout: credentials, exit requests, sessions and tracks --------------------


def bodies(w: Watcher, device: str, event: str) -> list[dict[str, Any]]:
    return [m.body for m in w.on(f"{device}/event/{event}")]


async def gone(w: Watcher, device: str, times: int = 1) -> None:
    """Wait for the device's ``times``-th goodbye: all it sent before has been seen."""
    await w.wait_for(
        lambda ms: sum(m.body == {"online": False} for m in w.on(f"{device}/state")) >= times
    )


async def test_credential_request_and_the_optional_passage_fields(
    broker: Broker, watcher: Watcher
) -> None:
    async with DoorSimulator(EXIT, STORE, broker.endpoint) as door:
        await door.passage("out")
        await door.passage("out", session="sess-1", track="t-7")
        await door.passage("in", track="t-8")
        await door.credential("qr", "eyJ0b2tlbiI6MX0")
        await door.credential("card", "04A224B2C5")
        await door.request()
        await door.request("sess-1", "t-7")
        with pytest.raises(SimulatorError, match="not valid"):
            await door.credential("qr", "")
        await watcher.wait_for(lambda ms: len(bodies(watcher, "door-out", "request")) == 2)
    passages = [
        {k: v for k, v in b.items() if k not in ("ts", "seq")}
        for b in bodies(watcher, "door-out", "passage")
    ]
    assert passages == [
        {"direction": "out"},
        {"direction": "out", "session": "sess-1", "track": "t-7"},
        {"direction": "in", "track": "t-8"},
    ]
    assert [(b["method"], b["value"]) for b in bodies(watcher, "door-out", "credential")] == [
        ("qr", "eyJ0b2tlbiI6MX0"),
        ("card", "04A224B2C5"),
    ]
    assert [(b["session"], b["track"]) for b in bodies(watcher, "door-out", "request")] == [
        (None, None),
        ("sess-1", "t-7"),
    ]


async def test_pass_through_echoes_the_session_the_door_is_open_for(
    broker: Broker, watcher: Watcher
) -> None:
    async with DoorSimulator(EXIT, STORE, broker.endpoint) as door:
        await watcher.command("door-out", "open", id="o1", seconds=30, session="sess-4")
        await wait_reply(watcher, "door-out", "o1")
        await door.pass_through("out", track="t-1")
        await door.pass_through("out", session="other")
        await watcher.command("door-out", "lock", id="l1")
        await wait_reply(watcher, "door-out", "l1")
        await door.pass_through("out")
    await gone(watcher, "door-out")
    sessions = [b.get("session") for b in bodies(watcher, "door-out", "passage")]
    assert sessions == ["sess-4", "other", None]
    assert bodies(watcher, "door-out", "passage")[0]["track"] == "t-1"


# --- fail-safe: the hub's state --------------------------------------------------------

HUB_STATE = f"store/{STORE}/hub/state"


class FakeHub:
    """The hub's presence only: a retained birth, a will, a clean goodbye."""

    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self.client: aiomqtt.Client | None = None

    async def online(self) -> None:
        self.client = aiomqtt.Client(
            self.broker.host,
            self.broker.port,
            identifier="fake-hub",
            will=aiomqtt.Will(HUB_STATE, b'{"online":false}', qos=1, retain=True),
            keepalive=5,
        )
        await self.client.__aenter__()
        birth = json.dumps({"online": True, "version": "test", "ts": time.time()})
        await self.client.publish(HUB_STATE, birth.encode(), qos=1, retain=True)

    async def die(self) -> None:
        """No DISCONNECT: the broker publishes the will."""
        assert self.client is not None
        sock = self.client._client.socket()
        assert isinstance(sock, socket.socket)
        sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(aiomqtt.MqttError):
            await self.client.__aexit__(None, None, None)
        self.client = None

    async def goodbye(self) -> None:
        assert self.client is not None
        await self.client.publish(HUB_STATE, b'{"online":false}', qos=1, retain=True)
        await self.client.__aexit__(None, None, None)
        self.client = None


@pytest.fixture
async def hub(broker: Broker) -> AsyncIterator[FakeHub]:
    fake = FakeHub(broker)
    await fake.online()
    try:
        yield fake
    finally:
        if fake.client is not None:
            await fake.client.__aexit__(None, None, None)


async def until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not within the timeout"
        await asyncio.sleep(0.02)


def states(w: Watcher, device: str) -> list[bool]:
    return [b["open"] for b in bodies(w, device, "door")]


async def test_fail_safe_open_when_the_hub_dies_until_it_is_back_and_sends_lock(
    broker: Broker, watcher: Watcher, hub: FakeHub
) -> None:
    config = DoorConfig(id="door-out", role="exit", fail_safe="open")
    async with DoorSimulator(config, STORE, broker.endpoint) as door:
        await until(lambda: door.hub_online is True)
        await hub.die()
        await watcher.wait_for(lambda ms: states(watcher, "door-out") == [True])
        assert door.is_open and door.fail_safe == "open" and door.hub_online is False
        await watcher.command("door-out", "lock", id="early")
        assert (await wait_reply(watcher, "door-out", "early"))["error"].startswith("fail_safe")
        await door.pass_through("out")  # walks through the open door: no door events
        await hub.online()
        await until(lambda: door.hub_online is True)
        await asyncio.sleep(0.2)
        assert door.is_open and door.fail_safe == "open"
        await watcher.command("door-out", "lock", id="l1")
        assert (await wait_reply(watcher, "door-out", "l1"))["open"] is False
        assert door.fail_safe is None and not door.is_open
    await gone(watcher, "door-out")
    assert states(watcher, "door-out") == [True, False]
    assert [b["direction"] for b in bodies(watcher, "door-out", "passage")] == ["out"]


async def test_back_online_an_open_ends_the_fail_safe_and_closes_after_seconds(
    broker: Broker, watcher: Watcher, hub: FakeHub
) -> None:
    config = DoorConfig(id="door-out", role="exit", fail_safe="open")
    async with DoorSimulator(config, STORE, broker.endpoint) as door:
        await hub.goodbye()
        await until(lambda: door.fail_safe == "open")
        await hub.online()
        await until(lambda: door.hub_online is True)
        await watcher.command("door-out", "open", id="o1", seconds=1, session="s-2")
        assert (await wait_reply(watcher, "door-out", "o1"))["ok"] is True
        assert door.fail_safe is None
        await watcher.wait_for(lambda ms: states(watcher, "door-out") == [True, False], timeout=3)


async def test_fail_safe_locked_traps_nobody_in_the_vestibule(
    broker: Broker, watcher: Watcher, hub: FakeHub
) -> None:
    inner = DoorConfig(id="exit-inner", fail_safe="locked", vestibule="v1", side="inner")
    outer = DoorConfig(id="exit-outer", fail_safe="locked", vestibule="v1", side="outer")
    async with (
        DoorSimulator(inner, STORE, broker.endpoint) as door_in,
        DoorSimulator(outer, STORE, broker.endpoint) as door_out,
    ):
        await watcher.command("exit-inner", "open", id="o1", seconds=30)
        await wait_reply(watcher, "exit-inner", "o1")
        await hub.goodbye()
        await watcher.wait_for(lambda ms: states(watcher, "exit-inner") == [True, False])
        await until(lambda: door_in.fail_safe == "locked" and door_out.fail_safe == "locked")
        for door, direction in [(door_in, "out"), (door_out, "out"), (door_out, "in")]:
            assert not door.can_pass(direction)  # type: ignore[arg-type]
            with pytest.raises(DoorLocked):
                await door.pass_through(direction)  # type: ignore[arg-type]
        assert door_in.can_pass("in")
        await door_in.pass_through("in")  # back into the store: the mechanical release
        await watcher.command("exit-outer", "open", id="early", seconds=5)
        assert (await wait_reply(watcher, "exit-outer", "early"))["ok"] is False
        await hub.online()
        await until(lambda: door_out.hub_online is True)
        assert door_out.fail_safe == "locked"  # until the hub says otherwise
        await watcher.command("exit-outer", "open", id="o2", seconds=5)
        assert (await wait_reply(watcher, "exit-outer", "o2"))["open"] is True
        await door_out.pass_through("out")
    await gone(watcher, "exit-inner")
    await gone(watcher, "exit-outer")
    assert states(watcher, "exit-inner") == [True, False, True, False]
    assert [b["direction"] for b in bodies(watcher, "exit-inner", "passage")] == ["in"]
    assert [b["direction"] for b in bodies(watcher, "exit-outer", "passage")] == ["out"]


async def test_a_released_door_stays_open_and_a_new_door_reads_the_retained_state(
    broker: Broker, watcher: Watcher, hub: FakeHub
) -> None:
    config = DoorConfig(id="door-out", role="exit", fail_safe="locked")
    async with DoorSimulator(config, STORE, broker.endpoint) as door:
        await watcher.command("door-out", "release", id="r1", reason="fire alarm")
        await wait_reply(watcher, "door-out", "r1")
        await hub.die()
        await until(lambda: door.hub_online is False)
        assert door.is_open and door.released and door.fail_safe is None
    async with DoorSimulator(config, STORE, broker.endpoint) as fresh:
        await until(lambda: fresh.fail_safe == "locked")
        assert not fresh.is_open and fresh.hub_online is False
        await fresh.random_action(random.Random(3))  # an exit shopper cannot get out
    await gone(watcher, "door-out", times=2)
    assert [b["direction"] for b in bodies(watcher, "door-out", "passage")] == []
    assert states(watcher, "door-out") == [True]  # the release; the fresh door starts closed


async def test_an_unreadable_hub_state_changes_nothing(broker: Broker, watcher: Watcher) -> None:
    config = DoorConfig(id="door-out", fail_safe="open")
    async with DoorSimulator(config, STORE, broker.endpoint) as door:
        for payload in (b"not json", b"[]", b'{"online": "no"}', b"{}"):
            await watcher.client.publish(HUB_STATE, payload, qos=1)
        await watcher.command("door-out", "lock", id="after")
        assert (await wait_reply(watcher, "door-out", "after"))["ok"] is True
        assert door.hub_online is None and door.fail_safe is None and door.connected


async def test_with_the_managed_broker_a_door_may_read_the_hubs_state(tmp_path: Path) -> None:
    # The managed broker's ACL lets a device read store/{store}/hub/state, nothing else new.
    config = tmp_path / "store.toml"
    text = DEMO.read_text().replace("port = 1883", "port = 0").replace("port = 8080", "port = 0")
    config.write_text(text)
    cfg = load_config(EnvSettings(config=config, data_dir=tmp_path / "data"))
    async with Hub(cfg, plugins=[]) as running:
        await running.wait_ready(10)
        assert running.broker is not None
        endpoint = endpoint_for(cfg, "door-out", port=urlsplit(running.broker.url).port)
        async with DoorSimulator(EXIT, STORE, endpoint) as door:
            await until(lambda: door.hub_online is True)
