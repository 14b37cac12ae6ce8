"""simulators.door: open/lock/release behaviour and passages, seen on the wire."""

from __future__ import annotations

import asyncio
import time

from devices.door.codec import DoorState
from devices.door.config import DoorConfig
from simulators.door import DoorSimulator
from tests.simulators.conftest import STORE, Broker, Watcher, demo_device, wait_reply

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
