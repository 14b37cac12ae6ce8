"""What is priced (:class:`BasketItem`) and what pricing returns (:class:`PricedBasket`).

Plain frozen value types: every checkout path (kiosk, RFID counter, exit gate)
builds ``BasketItem`` rows from its own identification and gets back the same
``PricedBasket``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from hub.pricing.money import format_minor, round_half_up


class PricingError(ValueError):
    """A basket that cannot be priced (mixed currencies, a weighed item without weight)."""


class Unit(StrEnum):
    EACH = "each"
    #: Sold by weight: ``unit_price`` is per kilogram, the line carries grams.
    KG = "kg"


@dataclass(frozen=True, slots=True)
class BasketItem:
    """One scanned line, priced with the catalog price *at the time of sale*."""

    gtin: str
    name: str
    #: Minor units per unit (``EACH``) or per kilogram (``KG``).
    unit_price: int
    tax_rate: Decimal
    unit: Unit = Unit.EACH
    #: Units (``EACH``); a weighed line is always one unit.
    qty: int = 1
    #: Measured weight of a weighed line.
    grams: int | None = None
    #: The price printed in a variable-measure barcode: replaces ``unit_price`` × weight.
    amount: int | None = None
    #: What was scanned (barcode text), for the receipt and the journal.
    code: str = ""
    #: RFID EPCs of the units, when the checkout knows them (marked paid after sale).
    epcs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.qty < 1:
            raise PricingError(f"{self.gtin}: quantity must be at least 1")
        if self.unit is Unit.KG and self.amount is None and self.grams is None:
            raise PricingError(f"{self.gtin}: a weighed item needs grams or a printed amount")
        if self.unit is Unit.KG and self.qty != 1:
            raise PricingError(f"{self.gtin}: a weighed line has quantity 1")

    @property
    def countable(self) -> bool:
        """Whether quantity promotions (buy X get Y, mix and match) can count its units."""
        return self.unit is Unit.EACH and self.amount is None

    def gross(self) -> int:
        """List amount before any promotion."""
        if self.amount is not None:
            return self.amount
        if self.unit is Unit.KG:
            assert self.grams is not None
            return round_half_up(Decimal(self.unit_price) * self.grams / 1000)
        return self.unit_price * self.qty


@dataclass(frozen=True, slots=True)
class Adjustment:
    """A promotion's reduction of one line (positive = the shopper pays less)."""

    promotion: str
    name: str
    amount: int


@dataclass(frozen=True, slots=True)
class PricedLine:
    item: BasketItem
    gross: int
    adjustments: tuple[Adjustment, ...]
    #: What the shopper pays for the line, tax included.
    amount: int
    tax: int

    @property
    def discount(self) -> int:
        return self.gross - self.amount

    @property
    def amount_excluding_tax(self) -> int:
        return self.amount - self.tax


@dataclass(frozen=True, slots=True)
class AppliedPromotion:
    id: str
    name: str
    type: str
    amount: int


@dataclass(frozen=True, slots=True)
class PricedBasket:
    currency: str
    lines: tuple[PricedLine, ...] = ()
    applied: tuple[AppliedPromotion, ...] = ()
    member: str | None = None
    #: Basket-level (spend threshold) discount, already spread over ``lines``.
    basket_discount: int = 0
    notes: tuple[str, ...] = field(default=())

    @property
    def subtotal(self) -> int:
        return sum(line.gross for line in self.lines)

    @property
    def discount(self) -> int:
        return sum(line.discount for line in self.lines)

    @property
    def total(self) -> int:
        return sum(line.amount for line in self.lines)

    @property
    def tax(self) -> int:
        return sum(line.tax for line in self.lines)

    def fmt(self, minor: int) -> str:
        return format_minor(minor, self.currency)

    def summary(self) -> dict[str, Any]:
        """JSON-ready record of the priced basket (money as decimal strings)."""
        f = self.fmt
        return {
            "currency": self.currency,
            "member": self.member,
            "lines": [
                {
                    "gtin": ln.item.gtin,
                    "name": ln.item.name,
                    "code": ln.item.code,
                    "unit": ln.item.unit.value,
                    "qty": ln.item.qty,
                    "grams": ln.item.grams,
                    "unit_price": f(ln.item.unit_price),
                    "gross": f(ln.gross),
                    "discount": f(ln.discount),
                    "amount": f(ln.amount),
                    "tax_rate": str(ln.item.tax_rate),
                    "tax": f(ln.tax),
                    "promotions": [
                        {"id": a.promotion, "name": a.name, "amount": f(a.amount)}
                        for a in ln.adjustments
                    ],
                    "epcs": list(ln.item.epcs),
                }
                for ln in self.lines
            ],
            "promotions": [
                {"id": p.id, "name": p.name, "type": p.type, "amount": f(p.amount)}
                for p in self.applied
            ],
            "subtotal": f(self.subtotal),
            "discount": f(self.discount),
            "total": f(self.total),
            "tax": f(self.tax),
        }
