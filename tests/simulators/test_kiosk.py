"""simulators.kiosk: shopper events out, the hub's screens in."""

from __future__ import annotations

import pytest

from devices.kiosk.codec import CODEC, Card, Help, Scan, ScanImage, Weight
from devices.kiosk.config import KioskConfig
from simulators.base import SimulatorError
from simulators.kiosk import TINY_JPEG, KioskSimulator
from tests.simulators.conftest import STORE, Broker, Watcher, demo_device, wait_reply

KIOSK = demo_device("kiosk-1", KioskConfig)


async def test_scan_weight_help_and_image_are_valid_kiosk_events(
    broker: Broker, watcher: Watcher
) -> None:
    async with KioskSimulator(KIOSK, STORE, broker.endpoint) as kiosk:
        await kiosk.scan("6901234567892")
        await kiosk.weight(512)
        await kiosk.help()
        await kiosk.scan_image()
    await watcher.wait_for(lambda ms: len(watcher.on("kiosk-1/state")) == 2)
    events = [m for m in watcher.messages if "/event/" in m.topic]
    decoded = [CODEC.decode_event(m.topic.rsplit("/", 1)[1], m.payload) for m in events]
    scan, weight, help_, image = decoded
    assert isinstance(scan, Scan) and (scan.code, scan.symbology) == ("6901234567892", "ean13")
    assert isinstance(weight, Weight) and weight.grams == 512.0
    assert isinstance(help_, Help)
    assert isinstance(image, ScanImage) and image.jpeg() == TINY_JPEG


async def test_keeps_the_last_command_of_each_kind(broker: Broker, watcher: Watcher) -> None:
    line = {"code": "6901234567892", "name": "Green tea", "qty": 1, "amount": "3.50"}
    async with KioskSimulator(KIOSK, STORE, broker.endpoint) as kiosk:
        await watcher.command("kiosk-1", "basket", id="b1", lines=[line], total="3.50")
        await watcher.command("kiosk-1", "basket", id="b2", lines=[line, line], total="7.00")
        await watcher.command("kiosk-1", "message", id="m1", text="Unknown barcode")
        await watcher.command("kiosk-1", "receipt", id="r1", sale="sale-9", text="Thanks!")
        await watcher.command("kiosk-1", "lock", id="l1", reason="weight mismatch")
        assert (await wait_reply(watcher, "kiosk-1", "l1"))["locked"] is True
        await watcher.command("kiosk-1", "unlock", id="u1")
        assert (await wait_reply(watcher, "kiosk-1", "u1"))["locked"] is False
        await watcher.command("kiosk-1", "basket", id="bad", lines=[{"code": "x"}])
        assert (await wait_reply(watcher, "kiosk-1", "bad"))["ok"] is False
    assert kiosk.basket is not None and kiosk.basket.total == "7.00"
    assert len(kiosk.basket.lines) == 2
    assert kiosk.message is not None and kiosk.message.text == "Unknown barcode"
    assert kiosk.receipt is not None and kiosk.receipt.sale == "sale-9"
    assert not kiosk.locked and set(kiosk.last) == {
        "basket",
        "message",
        "receipt",
        "lock",
        "unlock",
    }


async def test_card_is_a_valid_kiosk_event(broker: Broker, watcher: Watcher) -> None:
    async with KioskSimulator(KIOSK, STORE, broker.endpoint) as kiosk:
        await kiosk.card("tok_9f2c41d07a3be615")
        with pytest.raises(SimulatorError, match="not valid"):
            await kiosk.card("")
        await watcher.wait_for(lambda ms: len(watcher.on("kiosk-1/event/card")) == 1)
    (message,) = watcher.on("kiosk-1/event/card")
    card = CODEC.decode_event("card", message.payload)
    assert isinstance(card, Card) and card.token == "tok_9f2c41d07a3be615"
    assert set(message.body) == {"ts", "seq", "token"}
