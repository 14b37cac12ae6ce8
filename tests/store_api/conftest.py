"""Fixtures of the store API tests: a real hub on a real Mosquitto, tokens of each scope,
and an httpx client on the app (in process) or on the served plugin (real HTTP)."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub import auth
from hub.auth import Scope
from hub.config import EnvSettings, HubConfig, load_config
from hub.hub import Hub
from store_api.app import create_app
from store_api.server import plugin
from tests.conftest import DEMO, Mosquitto, eventually
from tests.paho_device import PahoDevice


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def hub_config(tmp_path: Path, mosquitto: Mosquitto, *, api_port: int = 0) -> HubConfig:
    return load_config(
        EnvSettings(
            config=DEMO, data_dir=tmp_path / "data", broker_url=mosquitto.url, api_port=api_port
        )
    )


class Clock:
    """Wall time plus an offset the test moves forward."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def hub(tmp_path: Path, mosquitto: Mosquitto, clock: Clock) -> AsyncIterator[Hub]:
    async with Hub(hub_config(tmp_path, mosquitto), plugins=[], clock=clock) as h:
        await h.wait_ready(10)
        yield h


async def make_token(hub: Hub, name: str, *scopes: Scope) -> str:
    return await hub.journal.call(lambda c: auth.create_token(c, name, scopes, now=time.time()))


@dataclass
class Tokens:
    staff: str
    hq: str
    admin: str

    def __getitem__(self, scope: str) -> str:
        token: str = getattr(self, scope)
        return token


@pytest.fixture
async def tokens(hub: Hub) -> Tokens:
    return Tokens(
        staff=await make_token(hub, "floor-1", "staff"),
        hq=await make_token(hub, "hq-sync", "hq"),
        admin=await make_token(hub, "manager", "admin"),
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def client(hub: Hub) -> AsyncIterator[httpx.AsyncClient]:
    """The app in process (ASGI), its lifespan run around the test."""
    app = create_app(hub)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as c:
            yield c


@dataclass
class Served:
    hub: Hub
    url: str


async def serve_api(tmp_path: Path, mosquitto: Mosquitto, **hub_kw: Any) -> AsyncIterator[Served]:
    port = free_port()
    cfg = hub_config(tmp_path, mosquitto, api_port=port)
    async with Hub(cfg, plugins=[plugin], **hub_kw) as h:
        await h.wait_ready(10)
        url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=url) as probe:

            async def up() -> bool:
                try:
                    return (await probe.get("/health")).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually(up, timeout=10)
        yield Served(h, url)


@pytest.fixture
async def served(tmp_path: Path, mosquitto: Mosquitto) -> AsyncIterator[Served]:
    """The API served by the real plugin (uvicorn) on a free loopback port."""
    async for s in serve_api(tmp_path, mosquitto):
        yield s


async def raise_alert(hub: Hub, key: str, **kw: Any) -> str:
    alert = await hub.alerts.raise_(
        kw.pop("kind", "test"),
        kw.pop("severity", "warning"),
        kw.pop("title", f"test alert {key}"),
        key=key,
        **kw,
    )
    return alert.id


async def listener(mosquitto: Mosquitto, topic: str) -> PahoDevice:
    """A plain-paho client subscribed to ``topic`` (SUBACK seen: a probe came back)."""
    dev = PahoDevice("s1", f"listener-{free_port()}", "x", mosquitto.port).start(topic)

    async def probed() -> bool:
        if not dev.messages:
            dev.publish(topic, {"probe": True})
        return bool(dev.messages)

    await eventually(probed, interval=0.1)
    dev.messages.clear()
    return dev
