"""The RFID box's counter with the real hub and Mosquitto: a payment the shopper walked
away from does not hold the counter for the next basket."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from hub.hub import Hub
from simulators.base import DeviceSimulator
from simulators.rfid_gate import RfidGateSimulator
from simulators.store.layout import catalog_items
from simulators.store.play import store_hub
from simulators.store.runner import StoreRun
from simulators.store.shoppers import Knobs, epc_of
from tests.conftest import Mosquitto, eventually
from tests.hub.unmanned.conftest import svc_of

pytestmark = pytest.mark.integration


@pytest.fixture
async def box(tmp_path: Path, mosquitto: Mosquitto) -> AsyncIterator[tuple[Hub, StoreRun]]:
    async with store_hub("rfid_box", tmp_path / "data", broker_url=mosquitto.url) as (hub, make):
        run = make(Knobs(model="rfid_box", shoppers=1))
        for sim in run.sims.values():
            await sim.__aenter__()
        async with asyncio.timeout(15):
            await svc_of(hub).ready.wait()
        try:
            yield hub, run
        finally:
            for sim in run.sims.values():
                await sim.__aexit__(None, None, None)


def payments(kiosk: DeviceSimulator[Any]) -> list[tuple[str, str]]:
    return [
        (str(c.args["payment_id"]), str(c.args["status"]))
        for c in kiosk.commands_received
        if c.name == "payment"
    ]


async def test_a_payment_walked_away_from_is_cancelled_for_the_next_basket(
    box: tuple[Hub, StoreRun],
) -> None:
    hub, run = box
    svc = svc_of(hub)
    gate, kiosk = run.sims["counter-rfid"], run.sims["counter-kiosk"]
    assert isinstance(gate, RfidGateSimulator)
    gtins = [str(i["gtin"]) for i in catalog_items()]
    first, second = epc_of(gtins[0], 900_001), epc_of(gtins[1], 900_002)

    async def lay(epc: str) -> None:
        await gate.event(
            "reads", reads=[{"epc": epc, "antenna": 1, "rssi": -40.0, "ts": time.time()}]
        )

    await lay(first)
    await eventually(lambda: [s for _, s in payments(kiosk)] == ["pending"], timeout=10)
    [(waiting, _)] = payments(kiosk)
    # The next basket's tag, while the first shopper's is still read: nothing happens.
    await lay(first)
    await lay(second)
    await asyncio.sleep(svc.config.counter_settle_s + 0.5)
    assert payments(kiosk) == [(waiting, "pending")]
    # The first basket is gone from the counter (no read of it for the zone's window);
    # the second one is read again: the waiting payment is cancelled, the new basket billed.
    await asyncio.sleep(svc.config.zone_window_s)
    await lay(second)
    await eventually(lambda: len(payments(kiosk)) >= 3, timeout=10)
    got = payments(kiosk)
    assert (waiting, "cancelled") in got
    new = [pid for pid, status in got if status == "pending" and pid != waiting]
    assert len(new) == 1
    assert svc.cashier is not None
    paid_for = svc.cashier.drafts[new[0]]
    assert [ln.epcs for ln in paid_for.lines] == [(second,)]
    assert svc.paid is not None and not svc.paid.is_paid(first)
