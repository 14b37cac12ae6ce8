"""A simulated self-checkout kiosk (kind ``kiosk``)."""

from __future__ import annotations

import base64
import random
from typing import Any, ClassVar

from devices.base import CommandArgs, DeviceConfig
from devices.kiosk.codec import Basket, Lock, Message, Receipt, Unlock
from devices.kiosk.config import KioskConfig
from simulators.base import DeviceSimulator, SimEndpoint
from simulators.catalog import PRODUCTS, ean13

#: The smallest thing that starts like a JPEG (SOI marker, then an EOI marker).
TINY_JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"


class KioskSimulator(DeviceSimulator[KioskConfig]):
    """Scans, weighs, calls for help and reads cards (:meth:`card`); shows what the hub
    sends it (the last ``basket``, ``receipt`` and ``message``; ``locked`` after ``lock``
    until ``unlock``)."""

    kind: ClassVar[str | None] = "kiosk"
    config_model: ClassVar[type[DeviceConfig]] = KioskConfig
    model: ClassVar[str] = "sim-kiosk"

    def __init__(
        self, config: KioskConfig, store: str, endpoint: SimEndpoint, **options: Any
    ) -> None:
        super().__init__(config, store, endpoint, **options)
        #: The last accepted command of each name (``basket``, ``receipt``, ``lock``, ...).
        self.last: dict[str, CommandArgs] = {}
        self.locked = False

    @property
    def basket(self) -> Basket | None:
        value = self.last.get("basket")
        return value if isinstance(value, Basket) else None

    @property
    def receipt(self) -> Receipt | None:
        value = self.last.get("receipt")
        return value if isinstance(value, Receipt) else None

    @property
    def message(self) -> Message | None:
        value = self.last.get("message")
        return value if isinstance(value, Message) else None

    async def scan(self, code: str, symbology: str = "ean13") -> int:
        return await self.event("scan", code=code, symbology=symbology)

    async def weight(self, grams: float) -> int:
        return await self.event("weight", grams=float(grams))

    async def help(self) -> int:
        return await self.event("help")

    async def card(self, token: str) -> int:
        """A shopper taps a card-on-file / member card to open a shopping session."""
        return await self.event("card", token=token)

    async def scan_image(self, jpeg: bytes = TINY_JPEG) -> int:
        """A frame of the scanner's camera (``scan_image``, base64 JPEG, 1 MiB topic)."""
        return await self.event("scan_image", jpeg_b64=base64.b64encode(jpeg).decode())

    async def random_action(self, rng: random.Random) -> None:
        """Mostly a barcode scan of a demo product, else its weight on the bagging
        area, now and then a call for help."""
        roll = rng.random()
        product = rng.choice(PRODUCTS)
        if roll < 0.7:
            await self.scan(ean13(product.gtin), "ean13")
        elif roll < 0.95:
            await self.weight(round(product.grams + rng.gauss(0.0, 4.0), 1))
        else:
            await self.help()

    def sample_fields(self, event: str) -> dict[str, Any]:
        samples: dict[str, dict[str, Any]] = {
            "scan": {"code": "6901234567892", "symbology": "ean13"},
            "scan_image": {"jpeg_b64": base64.b64encode(TINY_JPEG).decode()},
            "weight": {"grams": 100.0},
            "card": {"token": "card-1"},
        }
        return samples.get(event, {})

    async def on_command(self, name: str, args: CommandArgs) -> dict[str, Any] | None:
        self.last[name] = args
        if isinstance(args, Lock):
            self.locked = True
        elif isinstance(args, Unlock):
            self.locked = False
        return {"locked": self.locked}
