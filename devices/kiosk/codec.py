"""Wire payloads of the ``kiosk`` kind (contract v1 plus hub-defined events and commands). Pure.

Contract v1: events ``scan``, ``scan_image``, ``weight``, ``help``.  The hub adds
the events ``pay``, ``cancel``, ``member``, ``staff``, ``einvoice`` and ``card`` (optional
fields on ``scan``: ``epcs``), and the commands ``basket``, ``receipt``,
``lock``, ``unlock``, ``message`` and ``payment``.  See README.md beside this file.
"""

from __future__ import annotations

import base64
import binascii
from typing import Literal

from pydantic import Field, field_validator

from devices.base import Codec, CommandArgs, WirePayload

#: Ids a kiosk chooses (payment ids): safe in topics, logs and file names.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"


class Scan(WirePayload):
    code: str = Field(min_length=1, max_length=4096)
    symbology: str = Field(min_length=1, max_length=64)
    #: RFID EPCs (hex) of the scanned unit, when the kiosk has an RFID pad.
    epcs: list[str] = Field(default_factory=list, max_length=64)


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


class Pay(WirePayload):
    """The shopper asks to pay. ``payment_id``: the kiosk's id for this attempt — a
    retry with the same id never makes a second payment (none: the hub derives one)."""

    payment_id: str | None = Field(default=None, pattern=ID_PATTERN)
    member: str | None = Field(default=None, min_length=1, max_length=64)


class Cancel(WirePayload):
    """The shopper cancels the payment in progress (the basket stays)."""


class Member(WirePayload):
    """The shopper identified as a member (scanned a member code): member prices apply."""

    member: str = Field(min_length=1, max_length=64)


class Staff(WirePayload):
    """A staff member acted at the kiosk (badge or PIN checked by the kiosk)."""

    staff: str = Field(min_length=1, max_length=64)
    action: Literal["clear", "approve_age", "void_line", "cancel_basket"]
    #: ``void_line``: the basket line number as shown (1-based).
    line: int | None = Field(default=None, ge=1)


class EInvoice(WirePayload):
    """The shopper asks for the e-invoice of a sale (buyer: a company title or tax id)."""

    sale: str = Field(min_length=1, max_length=80)
    buyer: str | None = Field(default=None, max_length=200)


class Card(WirePayload):
    """A shopper tapped a card-on-file / member card at an entrance kiosk to open a
    shopping session (unmanned checkout)."""

    token: str = Field(min_length=1, max_length=512)


class Line(CommandArgs):
    code: str
    name: str
    qty: float
    amount: str
    #: Hub additions: 1-based line number, grams of a weighed line, prices.
    line: int | None = None
    grams: int | None = None
    unit_price: str | None = None
    discount: str = "0.00"


class Promotion(CommandArgs):
    name: str
    amount: str


class Basket(CommandArgs):
    """Priced lines and totals after each change (money as decimal strings)."""

    lines: list[Line] = Field(default_factory=list)
    total: str = "0.00"
    message: str | None = None
    subtotal: str = "0.00"
    discount: str = "0.00"
    tax: str = "0.00"
    currency: str = "CNY"
    promotions: list[Promotion] = Field(default_factory=list)
    member: str | None = None


class Receipt(CommandArgs):
    sale: str
    text: str
    total: str | None = None
    #: The id of the sale's e-invoice record, when one was issued.
    einvoice: str | None = None


class Lock(CommandArgs):
    reason: str = ""


class Unlock(CommandArgs):
    pass


class Message(CommandArgs):
    """Show a message on the kiosk screen (e.g. an unknown barcode)."""

    text: str = Field(min_length=1)
    level: str = "info"


class Payment(CommandArgs):
    """A QR payment's state: show ``qr`` while ``pending``; final states end it."""

    payment_id: str
    status: Literal["pending", "succeeded", "failed", "expired", "cancelled"]
    amount: str
    currency: str = "CNY"
    qr: str | None = None
    #: Epoch seconds when a pending payment times out (not ``expires``: every
    #: command's envelope has that one).
    pay_before: float | None = None


CODEC = Codec(
    events={
        "scan": Scan,
        "scan_image": ScanImage,
        "weight": Weight,
        "help": Help,
        "pay": Pay,
        "cancel": Cancel,
        "member": Member,
        "staff": Staff,
        "einvoice": EInvoice,
        "card": Card,
    },
    commands={
        "basket": Basket,
        "receipt": Receipt,
        "lock": Lock,
        "unlock": Unlock,
        "message": Message,
        "payment": Payment,
    },
    image_events=frozenset({"scan_image"}),
)
