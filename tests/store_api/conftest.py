"""Fixtures of the store API tests: a real hub on a real Mosquitto, tokens of each scope,
and an httpx client on the app (in process) or on the served plugin (real HTTP)."""

from __future__ import annotations

import shutil
import socket
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub import auth
from hub.auth import Scope
from hub.checkout.service import plugin as checkout_plugin
from hub.config import EnvSettings, HubConfig, load_config
from hub.hub import Hub, Plugin
from hub.unmanned.review import Review
from hub.unmanned.service import UnmannedService
from hub.unmanned.service import plugin as unmanned_plugin
from hub.unmanned.service import service as unmanned_service
from hub.unmanned.sessions import Evidence, ShopperSession, new_session_id
from rules.gate import plugin as gate_plugin
from store_api.app import create_app
from store_api.server import plugin
from tests.conftest import DEMO, Mosquitto, eventually
from tests.paho_device import PahoDevice


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def hub_config(
    tmp_path: Path, mosquitto: Mosquitto, *, api_port: int = 0, config: Path = DEMO
) -> HubConfig:
    return load_config(
        EnvSettings(
            config=config, data_dir=tmp_path / "data", broker_url=mosquitto.url, api_port=api_port
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


async def serve_api(
    tmp_path: Path,
    mosquitto: Mosquitto,
    *,
    config: Path = DEMO,
    plugins: Sequence[Plugin] = (),
    **hub_kw: Any,
) -> AsyncIterator[Served]:
    """A hub of ``config`` serving the API (and running ``plugins`` besides)."""
    port = free_port()
    cfg = hub_config(tmp_path, mosquitto, api_port=port, config=config)
    async with Hub(cfg, plugins=[plugin, *plugins], **hub_kw) as h:
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


# -- unmanned checkout ------------------------------------------------------------

#: What an unmanned store runs besides the API: the catalog and paid registry (gates),
#: checkout (payments, sales) and the unmanned service itself.
UNMANNED_PLUGINS: tuple[Plugin, ...] = (gate_plugin, checkout_plugin, unmanned_plugin)
#: The catalog's items (configs/catalog.toml) the tests put in carts, as GTIN-14.
TEA, CRACKERS, SOY = "06901234567892", "06901234561012", "06901234561029"  # 4.50, 8.90, 12.80


def unmanned_store(tmp_path: Path) -> Path:
    """The demo store with grab-and-go unmanned checkout between its two doors, and the
    demo catalog beside it."""
    folder = tmp_path / "store"
    folder.mkdir(exist_ok=True)
    text = DEMO.read_text(encoding="utf-8") + (
        '\n[unmanned]\nenabled = true\nmodel = "grab_and_go"\n'
        'entry_door = "door-in"\nexit_door = "door-out"\n'
    )
    (folder / "store.toml").write_text(text, encoding="utf-8")
    shutil.copy(DEMO.parent / "catalog.toml", folder / "catalog.toml")
    return folder / "store.toml"


async def unmanned_running(hub: Hub) -> UnmannedService:
    def ready() -> bool:
        svc = unmanned_service(hub)
        return svc is not None and svc.ready.is_set()

    await eventually(ready, timeout=20)
    svc = unmanned_service(hub)
    assert svc is not None
    return svc


async def shopper(
    svc: UnmannedService,
    cart: dict[str, int],
    *,
    pay_token: str | None = "card-7f3a",
    confidence: float = 0.6,
    note: str = "two shoppers at the shelf",
) -> ShopperSession:
    """An open session (saved, as the service keeps them) whose shelves were unsure."""
    now = svc.clock()
    s = ShopperSession(
        id=new_session_id(), opened=now, via="qr", member="m-1001", pay_token=pay_token, entered=1
    )
    for gtin, qty in cart.items():
        ev = Evidence(
            source="weight",
            device="shelf-1",
            ts=now,
            confidence=confidence,
            slot="A1",
            tracks=("t-1", "t-2"),
            note=note,
        )
        s.add(gtin, qty, ev)
    svc.sessions[s.id] = s
    await svc.save(s)
    return s


async def pending_review(
    svc: UnmannedService, cart: dict[str, int], **kw: Any
) -> tuple[ShopperSession, Review]:
    """A shopper who left with an unsure bill: the bill is queued, the session closed."""
    s = await shopper(svc, cart, **kw)
    bill, _ = svc.bill(s, device="door-out")
    review = await svc.to_review(s, bill, "; ".join(bill.reasons) or "unsure")
    s.cart.clear()
    s.exited = 1
    await svc.close(s)
    return s, review
