"""Promotions (and member prices) HQ publishes through cloud sync, at the self-checkout:
the reference cloud, the sync plugin's inbox, the checkout's basket pricing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from hub.checkout.config import CheckoutConfig, SimulatedPayments
from hub.checkout.published import merge, read_published
from hub.checkout.service import CheckoutService, plugin_with
from hub.config import EnvSettings, load_config
from hub.db import connect_writer
from hub.hub import Hub
from hub.pricing import FixedPrice, MemberPrice
from hub.sync import Sync
from hub.sync import plugin as sync_plugin
from rules.gate import plugin as gate_plugin
from simulators.cloud import CloudServer, PublishChange
from tests.conftest import DEMO, Mosquitto, eventually
from tests.hub.sync.conftest import fast_config
from tests.paho_device import PahoDevice

pytestmark = pytest.mark.integration

TEA, TEA14 = "6901234567892", "06901234567892"  # 4.50 in configs/catalog.toml
TOKEN = "t"


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[CloudServer]:
    with CloudServer(tmp_path / "cloud" / "cloud.db", tokens={"s1": TOKEN}) as server:
        yield server


@pytest.fixture
async def hub(
    tmp_path: Path, mosquitto: Mosquitto, cloud: CloudServer, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Hub]:
    monkeypatch.setenv("STOREHUB_SYNC_TOKEN", TOKEN)
    cfg = load_config(
        EnvSettings(config=DEMO, data_dir=tmp_path / "data", broker_url=mosquitto.url, api_port=0)
    )
    cfg = cfg.model_copy(
        update={"store": cfg.store.model_copy(update={"sync": fast_config(cloud.url)})}
    )
    # The config's own promotion of the tea; HQ will replace it by publishing its id.
    checkout = CheckoutConfig(
        payment=SimulatedPayments(delay_s=0.2),
        promotions=(FixedPrice(id="tea-deal", price=Decimal("4.00"), items=frozenset({TEA14})),),
    )
    async with Hub(cfg, plugins=[gate_plugin, plugin_with(checkout), sync_plugin]) as h:
        await h.wait_ready(10)
        await eventually(lambda: (s := h.service(CheckoutService)) is not None and s.ready.is_set())
        await eventually(lambda: h.service(Sync) is not None)
        yield h


@pytest.fixture
def kiosk(hub: Hub, mosquitto: Mosquitto) -> Iterator[PahoDevice]:
    device = PahoDevice("s1", "kiosk-1", "kiosk", mosquitto.port).start()
    device.birth()
    yield device
    device.stop()


def totals(device: PahoDevice) -> list[str]:
    return [c["total"] for c in device.commands if c["name"] == "basket"]


async def test_a_published_promotion_prices_the_basket_until_it_is_deleted(
    hub: Hub, kiosk: PahoDevice, cloud: CloudServer
) -> None:
    kiosk.event("weight", grams=0.0)
    kiosk.event("scan", code=TEA, symbology="ean13")
    await eventually(lambda: totals(kiosk) and totals(kiosk)[-1] == "4.00")  # the config's
    cloud.store.publish(
        [
            PublishChange(
                type="promotion",
                key="half-tea",
                data={"type": "percent_off", "percent": "50", "items": [TEA14]},
            ),
            PublishChange(
                type="promotion",
                key="tea-deal",  # HQ's version of the config's promotion replaces it
                data={"type": "fixed_price", "price": "3.80", "items": [TEA14]},
            ),
        ]
    )
    # The basket on the kiosk is re-priced as soon as the inbox applied them (a line
    # gets the best unit-price promotion: half of 4.50).
    await eventually(lambda: totals(kiosk)[-1] == "2.25", timeout=10)
    svc = hub.service(CheckoutService)
    assert svc is not None
    assert {p.id for p in svc.promotions} == {"tea-deal", "half-tea"}
    cloud.store.publish([PublishChange(type="promotion", key="half-tea", op="delete")])
    await eventually(lambda: totals(kiosk)[-1] == "3.80", timeout=10)
    # A promotion HQ got wrong is refused whole and changes nothing.
    cloud.store.publish(
        [PublishChange(type="promotion", key="bad", data={"type": "percent_off", "percent": 12.5})]
    )
    sync = hub.service(Sync)
    assert sync is not None
    await eventually(lambda: sync.status().inbox_quarantined == 1, timeout=10)
    price, _ = svc.price("kiosk-1")
    assert price.total == 380


def test_member_prices_and_replacing_config_promotions(tmp_path: Path) -> None:
    conn = connect_writer(tmp_path / "hub.db")  # the real schema
    docs: list[tuple[str, str, str]] = [
        ("promotion", "p1", '{"type": "fixed_price", "price": "2.00", "items": []}'),
        ("promotion", "broken", '{"type": "no_such_kind"}'),
        (
            "price",
            TEA14,
            '{"price": 450, "member_price": 399, "currency": "CNY", "effective_at": 100.0}',
        ),
        ("price", "06901234561029", '{"price": 1280, "currency": "CNY"}'),
        ("price", "06901234561012", '{"price": 10, "member_price": 9, "currency": "USD"}'),
    ]
    conn.executemany(
        "INSERT INTO sync_documents VALUES (?, ?, 1, ?, 0)", [(t, k, d) for t, k, d in docs]
    )
    published = read_published(conn, "CNY")
    conn.close()
    assert [p.id for p in published] == ["p1", "hq-member-price:" + TEA14]
    member = published[1]
    assert isinstance(member, MemberPrice)
    assert member.price == Decimal("3.99") and member.items == {TEA14} and member.starts == 100.0
    config: list[Any] = [
        FixedPrice(id="p1", price=Decimal("9.00")),
        FixedPrice(id="p0", price=Decimal("1.00")),
    ]
    merged = merge(config, published)
    assert [(p.id, getattr(p, "price", None)) for p in merged] == [
        ("p1", Decimal("2.00")),
        ("p0", Decimal("1.00")),
        ("hq-member-price:" + TEA14, Decimal("3.99")),
    ]


async def test_published_member_price_for_an_identified_member(
    hub: Hub, kiosk: PahoDevice, cloud: CloudServer
) -> None:
    cloud.store.publish(
        [PublishChange(type="price", key=TEA, data={"price": 450, "member_price": 399})]
    )
    sync = hub.service(Sync)
    assert sync is not None
    await eventually(lambda: sync.status().inbox_cursor == 1, timeout=10)
    svc = hub.service(CheckoutService)
    assert svc is not None
    await eventually(lambda: any(p.id.startswith("hq-member-price:") for p in svc.promotions))
    kiosk.event("weight", grams=0.0)
    kiosk.event("scan", code=TEA, symbology="ean13")
    await eventually(lambda: totals(kiosk) and totals(kiosk)[-1] == "4.00")
    kiosk.event("member", member="m-1001")
    await eventually(lambda: totals(kiosk)[-1] == "3.99", timeout=10)
    await asyncio.sleep(0)
