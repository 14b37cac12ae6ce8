"""Self-checkout end to end: the real Hub, Mosquitto, and a plain-paho kiosk that knows only
the wire contract (tests/paho_device.py)."""

from __future__ import annotations

import asyncio
import base64
import json
import random
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.checkout.config import CheckoutConfig, SimulatedPayments
from hub.checkout.service import CheckoutService, plugin_with
from hub.config import EnvSettings, load_config
from hub.db import connect_reader
from hub.hub import Hub
from hub.inventory import Inventory
from rules.gate import plugin as gate_plugin
from rules.gate import service as gate_service
from simulators.barcode_images import Distortion, make_frame
from tests.conftest import DEMO, Mosquitto, eventually
from tests.paho_device import PahoDevice

pytestmark = pytest.mark.integration

TEA, SOY = "6901234567892", "6901234561029"  # 520 g and 610 g in configs/catalog.toml
EPC = "3074257BF7194E4000001A85"


@pytest.fixture
async def hub(tmp_path: Path, mosquitto: Mosquitto) -> AsyncIterator[Hub]:
    cfg = load_config(
        EnvSettings(config=DEMO, data_dir=tmp_path / "data", broker_url=mosquitto.url, api_port=0)
    )
    checkout = CheckoutConfig(payment=SimulatedPayments(delay_s=0.2), place_timeout_s=30)
    async with Hub(cfg, plugins=[gate_plugin, plugin_with(checkout)]) as h:
        await h.wait_ready(10)
        await eventually(lambda: (s := h.service(CheckoutService)) is not None and s.ready.is_set())
        yield h


@pytest.fixture
def kiosk(hub: Hub, mosquitto: Mosquitto) -> Iterator[PahoDevice]:
    device = PahoDevice("s1", "kiosk-1", "kiosk", mosquitto.port).start()
    device.birth()
    yield device
    device.stop()


def named(device: PahoDevice, name: str) -> list[dict[str, Any]]:
    return [c for c in device.commands if c["name"] == name]


def rows(hub: Hub, sql: str, *args: Any) -> list[sqlite3.Row]:
    conn = connect_reader(hub.db_path)
    try:
        return list(conn.execute(sql, args).fetchall())
    finally:
        conn.close()


async def test_scan_bag_pay_and_leave_with_a_receipt(hub: Hub, kiosk: PahoDevice) -> None:
    inventory = hub.service(Inventory)
    assert inventory is not None
    await inventory.set_level("0" + TEA, "store", 10)
    kiosk.event("weight", grams=40.0)  # an empty bag
    kiosk.event("scan", code=TEA, symbology="ean13", epcs=[EPC])
    await eventually(lambda: named(kiosk, "basket"))
    kiosk.event("weight", grams=562.0)
    kiosk.event("scan", code=SOY, symbology="ean13")
    kiosk.event("weight", grams=1170.0)
    await eventually(lambda: any(b["total"] == "17.30" for b in named(kiosk, "basket")))
    for _ in range(3):  # the kiosk retries: one payment, one sale
        kiosk.event("pay", payment_id="kiosk-1-0001")
    await eventually(lambda: named(kiosk, "receipt"), timeout=10)
    await asyncio.sleep(0.5)
    receipts = named(kiosk, "receipt")
    assert {r["sale"] for r in receipts} == {receipts[0]["sale"]}
    sale_id = receipts[0]["sale"]
    assert receipts[0]["total"] == "17.30"
    assert "Jasmine green tea" in receipts[0]["text"]
    assert receipts[0]["einvoice"] == f"{sale_id}-B1"
    pending = [p for p in named(kiosk, "payment") if p["status"] == "pending"]
    assert pending and pending[0]["qr"].startswith("simpay://s1/kiosk-1-0001")
    assert any(p["status"] == "succeeded" for p in named(kiosk, "payment"))
    # Journaled with its outbox row, stock down, the tag paid for the exit gate.
    sale = rows(hub, "SELECT * FROM sales")
    assert len(sale) == 1 and sale[0]["id"] == sale_id and sale[0]["settled"] == 1
    journal = rows(hub, "SELECT id, data FROM journal WHERE type = 'sale'")
    assert len(journal) == 1
    record = json.loads(journal[0]["data"])
    assert record["total"] == "17.30" and record["lines"][0]["epcs"] == [EPC]
    outbox = rows(hub, "SELECT * FROM outbox WHERE stream = 'sales'")
    assert len(outbox) == 1 and outbox[0]["journal_id"] == journal[0]["id"]
    level = inventory.level("0" + TEA, "store")
    assert level is not None and level.qty == 9
    assert gate_service(hub).paid.is_paid(EPC)
    assert rows(hub, "SELECT kind FROM einvoices")[0]["kind"] == "blue"
    # The next shopper starts from an empty basket.
    assert named(kiosk, "basket")[-1]["lines"] == []


async def test_a_swap_locks_the_kiosk_and_staff_unlock_it(
    hub: Hub, kiosk: PahoDevice, mosquitto: Mosquitto
) -> None:
    staff = PahoDevice("s1", "handheld", "x", mosquitto.port).start("store/s1/alert")
    kiosk.event("weight", grams=0.0)
    kiosk.event("scan", code=TEA, symbology="ean13")
    kiosk.event("weight", grams=980.0)  # baijiu in the bag, tea on the receipt
    await eventually(lambda: named(kiosk, "lock"))
    await eventually(lambda: staff.messages)
    alert = staff.messages[0][1]
    assert isinstance(alert, dict) and alert["kind"] == "kiosk_assist"
    assert alert["device"] == "kiosk-1" and alert["data"]["reason"] == "unexpected_weight"
    kiosk.event("pay")
    await eventually(lambda: any("staff" in m["text"] for m in named(kiosk, "message")))
    assert not named(kiosk, "payment")
    kiosk.event("staff", staff="amy", action="clear")
    await eventually(lambda: named(kiosk, "unlock"))
    assert hub.alerts.find("kiosk_assist:kiosk-1:checkout") is None
    staff.stop()


async def test_unknown_codes_and_camera_frames(hub: Hub, kiosk: PahoDevice) -> None:
    kiosk.event("scan", code="6901234567891", symbology="ean13")  # bad check digit
    kiosk.event("scan", code="6900000000007", symbology="ean13")  # valid, not in the catalog
    await eventually(lambda: len(named(kiosk, "message")) >= 2)
    texts = [m["text"] for m in named(kiosk, "message")]
    assert "scan it again" in texts[0] and "not known" in texts[1]
    frame = make_frame(SOY, "ean13", random.Random(9), distortion=Distortion(rotate_deg=8))
    kiosk.event("scan_image", jpeg_b64=base64.b64encode(frame.jpeg).decode())
    await eventually(lambda: any(b["lines"] for b in named(kiosk, "basket")), timeout=30)
    assert named(kiosk, "basket")[-1]["lines"][0]["code"] == SOY
    # The journal writes in batches: the basket can reach the kiosk first.
    query = "SELECT data FROM journal WHERE type = 'event' AND name = 'decoded'"
    await eventually(lambda: rows(hub, query))
    decoded = rows(hub, query)
    assert json.loads(decoded[0]["data"])["decoder"] in ("zxing-cpp", "pyzbar")
