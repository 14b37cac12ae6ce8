"""simulators.shopper against the real hub: shoppers who pay, misbehave, or walk away."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from devices.kiosk.config import KioskConfig
from hub.checkout.config import CheckoutConfig, SimulatedPayments
from hub.checkout.service import CheckoutService, plugin_with
from hub.config import EnvSettings, load_config
from hub.db import connect_reader
from hub.hub import Hub
from rules.gate import plugin as gate_plugin
from simulators.base import SimEndpoint
from simulators.kiosk import KioskSimulator
from simulators.shopper import Habits, Shopper, shop_forever, summary
from tests.conftest import DEMO, Mosquitto, eventually
from tests.simulators.conftest import demo_device

pytestmark = pytest.mark.integration

KIOSK = demo_device("kiosk-1", KioskConfig)
CALM = Habits(
    items=(2, 3), mis_scan=0, image_scan=0, swap=0, help=0, member=0, abandon=0, retry_pay=0
)


@pytest.fixture
async def hub(tmp_path: Path, mosquitto: Mosquitto) -> AsyncIterator[Hub]:
    cfg = load_config(
        EnvSettings(config=DEMO, data_dir=tmp_path / "data", broker_url=mosquitto.url, api_port=0)
    )
    checkout = CheckoutConfig(payment=SimulatedPayments(delay_s=0.1), abandon_after_s=2.0)
    async with Hub(cfg, plugins=[gate_plugin, plugin_with(checkout)]) as h:
        await h.wait_ready(10)
        await eventually(lambda: (s := h.service(CheckoutService)) is not None and s.ready.is_set())
        yield h


@pytest.fixture
async def kiosk(hub: Hub, mosquitto: Mosquitto) -> AsyncIterator[KioskSimulator]:
    async with KioskSimulator(KIOSK, "s1", SimEndpoint("127.0.0.1", mosquitto.port)) as k:
        yield k


def sales(hub: Hub) -> int:
    conn = connect_reader(hub.db_path)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM sales").fetchone()[0])
    finally:
        conn.close()


async def test_a_calm_shopper_pays_and_gets_a_receipt(hub: Hub, kiosk: KioskSimulator) -> None:
    visit = await Shopper(kiosk, seed=1, habits=CALM).visit()
    assert visit.outcome == "paid" and visit.sale is not None
    assert visit.receipt is not None and "TOTAL CNY" in visit.receipt
    assert len(visit.scanned) in (2, 3) and sales(hub) == 1


async def test_a_difficult_shopper_is_helped_by_staff_and_still_pays(
    hub: Hub, kiosk: KioskSimulator
) -> None:
    habits = Habits(
        items=(2, 2),
        mis_scan=1,
        image_scan=1,
        image_severity=(0.0, 0.1),
        swap=1,
        help=1,
        member=1,
        abandon=0,
        retry_pay=1,
        staff_after_s=0.2,
    )
    visit = await Shopper(kiosk, seed=3, habits=habits).visit()
    assert visit.outcome == "paid", visit.events
    for what in ("mis_scan", "image_scan", "swap", "staff_clear", "help", "retry_pay"):
        assert what in visit.events
    assert sales(hub) == 1  # retried pay: still one sale
    kinds = {a.kind for a in hub.alerts.live()} | {
        r[0] for r in connect_reader(hub.db_path).execute("SELECT kind FROM alerts")
    }
    assert "kiosk_assist" in kinds


async def test_an_abandoned_basket_is_cleared_by_the_hub(hub: Hub, kiosk: KioskSimulator) -> None:
    habits = Habits(items=(3, 3), mis_scan=0, image_scan=0, swap=0, help=0, abandon=1)
    shopper = Shopper(kiosk, seed=2, habits=habits)
    while (visit := await shopper.visit()).outcome != "abandoned" or not visit.scanned:
        pass
    await eventually(
        lambda: kiosk.message is not None and "cleared" in kiosk.message.text, timeout=10
    )
    assert kiosk.basket is not None and kiosk.basket.lines == []
    assert sales(hub) == 0


async def test_shoppers_one_after_another(hub: Hub, kiosk: KioskSimulator) -> None:
    visits = await shop_forever(kiosk, seed=5, habits=CALM, pause_s=(0.0, 0.1), visits=2)
    assert summary(visits)["paid"] == 2 and sales(hub) == 2
