"""A real, throwaway Mosquitto per test (an external broker: anonymous, loopback only), and a
plain aiomqtt client that records everything under ``store/s1/#``."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import json
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aiomqtt
import pytest

from devices.base import DeviceConfig
from hub.config import StoreConfig, load_store_file
from simulators.base import SimEndpoint

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "configs" / "demo.toml"
STORE = "s1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Broker:
    port: int
    proc: subprocess.Popen[bytes]
    host: str = "127.0.0.1"

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    @property
    def endpoint(self) -> SimEndpoint:
        return SimEndpoint(self.host, self.port)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """``mosquitto -c`` with ``listener PORT 127.0.0.1`` and ``allow_anonymous true``."""
    exe = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin")
    if exe is None:
        pytest.fail("mosquitto is not installed (apt-get install mosquitto)")
    port = _free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n")
    proc = subprocess.Popen(
        [exe, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"mosquitto did not start on port {port}")
            time.sleep(0.02)
        yield Broker(port, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass(frozen=True)
class Seen:
    topic: str
    payload: bytes
    retain: bool

    @property
    def body(self) -> Any:
        return json.loads(self.payload)


@dataclass
class Watcher:
    """A plain MQTT client (the test's eyes, and the hub's voice for commands)."""

    client: aiomqtt.Client
    messages: list[Seen] = field(default_factory=list)

    def on(self, suffix: str) -> list[Seen]:
        """Messages whose topic ends with ``suffix`` (e.g. ``"door-in/event/door"``)."""
        return [m for m in self.messages if m.topic.endswith(suffix)]

    async def wait_for(
        self, predicate: Callable[[list[Seen]], bool], timeout: float = 5.0
    ) -> list[Seen]:
        deadline = time.monotonic() + timeout
        while not predicate(self.messages):
            if time.monotonic() > deadline:
                topics = [m.topic for m in self.messages][-20:]
                raise AssertionError(f"not seen within {timeout}s; last topics: {topics}")
            await asyncio.sleep(0.02)
        return self.messages

    async def command(
        self, device: str, name: str, *, id: str, expires_in: float = 10.0, **args: Any
    ) -> None:
        now = time.time()
        body = {"id": id, "ts": now, "expires": now + expires_in, **args}
        topic = f"store/{STORE}/device/{device}/command/{name}"
        await self.client.publish(topic, json.dumps(body).encode(), qos=1)


_ids = itertools.count()


@contextlib.asynccontextmanager
async def watch(broker: Broker, topic: str = f"store/{STORE}/#") -> AsyncIterator[Watcher]:
    """A :class:`Watcher` subscribed to ``topic`` (it gets retained messages first)."""
    ident = f"watcher-{next(_ids)}"
    async with aiomqtt.Client(broker.host, broker.port, identifier=ident) as c:
        await c.subscribe(topic, qos=1)
        watcher = Watcher(c)

        async def pump() -> None:
            async for message in c.messages:
                payload = message.payload
                assert isinstance(payload, bytes | bytearray)
                watcher.messages.append(Seen(message.topic.value, bytes(payload), message.retain))

        task = asyncio.create_task(pump())
        try:
            yield watcher
        finally:
            task.cancel()
            await asyncio.wait({task})


@pytest.fixture
async def watcher(broker: Broker) -> AsyncIterator[Watcher]:
    """Subscribed to ``store/s1/#`` before any simulator starts."""
    async with watch(broker) as w:
        yield w


T = TypeVar("T", bound=DeviceConfig)


@functools.cache
def demo_store() -> StoreConfig:
    return load_store_file(DEMO)


def demo_device(device_id: str, model: type[T]) -> T:
    """A device of ``configs/demo.toml``, as its kind's config model."""
    found = demo_store().device(device_id)
    assert isinstance(found, model), (device_id, found)
    return found


def replies(w: Watcher, device: str) -> dict[str, Any]:
    """Replies of ``device`` seen so far, by command id (the last one per id)."""
    return {m.body["id"]: m.body for m in w.on(f"/{device}/reply")}


async def wait_reply(w: Watcher, device: str, cmd_id: str, count: int = 1) -> dict[str, Any]:
    """Wait for the ``count``-th reply to ``cmd_id``; returns it."""

    def found(ms: list[Seen]) -> bool:
        return sum(1 for m in w.on(f"/{device}/reply") if m.body["id"] == cmd_id) >= count

    await w.wait_for(found)
    bodies: list[dict[str, Any]] = [
        m.body for m in w.on(f"/{device}/reply") if m.body["id"] == cmd_id
    ]
    return bodies[count - 1]
