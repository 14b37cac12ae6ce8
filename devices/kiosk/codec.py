"""Wire payloads of the ``kiosk`` kind (contract v1 plus hub-defined commands). Pure."""

from __future__ import annotations

import base64
import binascii

from pydantic import Field, field_validator

from devices.base import Codec, CommandArgs, WirePayload


class Scan(WirePayload):
    code: str = Field(min_length=1, max_length=4096)
    symbology: str = Field(min_length=1, max_length=64)


class ScanImage(WirePayload):
    """A camera frame from the kiosk's scanner, JPEG, base64 (1 MiB topic)."""

    jpeg_b64: str = Field(min_length=4)

    @field_validator("jpeg_b64")
    @classmethod
    def _is_base64_jpeg(cls, value: str) -> str:
        try:
            head = base64.b64decode(value[:16] + "=" * (-len(value[:16]) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("not valid base64") from None
        if not head.startswith(b"\xff\xd8"):
            raise ValueError("not a JPEG (missing SOI marker)")
        return value

    def jpeg(self) -> bytes:
        return base64.b64decode(self.jpeg_b64)


class Weight(WirePayload):
    grams: float


class Help(WirePayload):
    pass


class Line(CommandArgs):
    code: str
    name: str
    qty: float
    amount: str


class Basket(CommandArgs):
    """Priced lines and totals after each change (money as decimal strings)."""

    lines: list[Line] = Field(default_factory=list)
    total: str = "0.00"
    message: str | None = None


class Receipt(CommandArgs):
    sale: str
    text: str


class Lock(CommandArgs):
    reason: str = ""


class Unlock(CommandArgs):
    pass


class Message(CommandArgs):
    """Show a message on the kiosk screen (e.g. an unknown barcode)."""

    text: str = Field(min_length=1)
    level: str = "info"


CODEC = Codec(
    events={"scan": Scan, "scan_image": ScanImage, "weight": Weight, "help": Help},
    commands={
        "basket": Basket,
        "receipt": Receipt,
        "lock": Lock,
        "unlock": Unlock,
        "message": Message,
    },
    image_events=frozenset({"scan_image"}),
)
