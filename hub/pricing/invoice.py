"""E-invoice lines: whole-basket discount allocation, per-line tax, red (reversing) invoices.

The rules (国家税务总局 e-invoice practice, see docs/pricing.md):

- a whole-basket discount is allocated to lines in proportion to their amounts,
  the residual cent going to the largest line (:func:`~hub.pricing.money.allocate`);
- each line's tax = amount including tax − amount excluding tax, at the line's
  own rate, the amount excluding tax rounded half up;
- a partial return issues a **red** invoice reversing the original in full and a
  new **blue** one for what the shopper kept, at the amounts actually paid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from hub.pricing.basket import PricedBasket
from hub.pricing.money import allocate, format_minor, round_half_up, tax_included


class InvoiceError(ValueError):
    """A refund that does not fit the invoice (unknown line, more than was sold)."""


class InvoiceLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    gtin: str = ""
    qty: int = 1
    grams: int | None = None
    tax_rate: Decimal
    #: Before the whole-basket discount (minor units, tax included).
    gross: int
    #: The line's share of the whole-basket discount.
    discount: int = 0
    #: What was paid for the line, tax included.
    amount: int
    amount_excluding_tax: int
    tax: int


class Invoice(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    kind: Literal["blue", "red"] = "blue"
    sale: str
    #: The invoice a red one reverses, or a replacement replaces.
    refers: str | None = None
    currency: str
    ts: float
    buyer: str | None = None
    lines: tuple[InvoiceLine, ...] = Field(default=())

    @property
    def total(self) -> int:
        return sum(ln.amount for ln in self.lines)

    @property
    def total_excluding_tax(self) -> int:
        return sum(ln.amount_excluding_tax for ln in self.lines)

    @property
    def total_tax(self) -> int:
        return sum(ln.tax for ln in self.lines)

    def record(self) -> dict[str, object]:
        """JSON-ready record with money as decimal strings (journal, outbox, CLI)."""

        def f(minor: int) -> str:
            return format_minor(minor, self.currency)

        return {
            "id": self.id,
            "kind": self.kind,
            "sale": self.sale,
            "refers": self.refers,
            "currency": self.currency,
            "ts": self.ts,
            "buyer": self.buyer,
            "lines": [
                {
                    "name": ln.name,
                    "gtin": ln.gtin,
                    "qty": ln.qty,
                    "grams": ln.grams,
                    "tax_rate": str(ln.tax_rate),
                    "gross": f(ln.gross),
                    "discount": f(ln.discount),
                    "amount": f(ln.amount),
                    "amount_excluding_tax": f(ln.amount_excluding_tax),
                    "tax": f(ln.tax),
                }
                for ln in self.lines
            ],
            "total": f(self.total),
            "total_excluding_tax": f(self.total_excluding_tax),
            "total_tax": f(self.total_tax),
        }


def line(
    name: str,
    gross: int,
    tax_rate: Decimal,
    *,
    discount: int = 0,
    gtin: str = "",
    qty: int = 1,
    grams: int | None = None,
) -> InvoiceLine:
    amount = gross - discount
    tax = tax_included(amount, tax_rate)
    return InvoiceLine(
        name=name,
        gtin=gtin,
        qty=qty,
        grams=grams,
        tax_rate=tax_rate,
        gross=gross,
        discount=discount,
        amount=amount,
        amount_excluding_tax=amount - tax,
        tax=tax,
    )


def allocate_discount(
    lines: Sequence[tuple[str, int, Decimal]], discount: int
) -> list[InvoiceLine]:
    """Lines ``(name, amount, tax rate)`` and a whole-basket ``discount`` → invoice lines."""
    shares = allocate(discount, [amount for _, amount, _ in lines])
    return [
        line(name, amount, rate, discount=share)
        for (name, amount, rate), share in zip(lines, shares, strict=True)
    ]


def from_basket(
    basket: PricedBasket, *, id: str, sale: str, ts: float, buyer: str | None = None
) -> Invoice:
    """The blue invoice of a paid basket.

    Item promotions lower a line's gross; the spend-threshold (whole-basket)
    discount is the line's share that pricing allocated with the same rule as
    :func:`allocate_discount`, so receipt and invoice agree to the cent.
    """
    spend_ids = {p.id for p in basket.applied if p.type == "spend_threshold"}
    lines = []
    for ln in basket.lines:
        share = sum(a.amount for a in ln.adjustments if a.promotion in spend_ids)
        lines.append(
            line(
                ln.item.name,
                ln.amount + share,
                ln.item.tax_rate,
                discount=share,
                gtin=ln.item.gtin,
                qty=ln.item.qty,
                grams=ln.item.grams,
            )
        )
    return Invoice(
        id=id, sale=sale, currency=basket.currency, ts=ts, buyer=buyer, lines=tuple(lines)
    )


def refund(
    original: Invoice, returned: Mapping[int, int], *, red_id: str, new_id: str, ts: float
) -> tuple[Invoice, Invoice | None]:
    """A partial (or full) return: ``returned`` maps a line index to units returned.

    Returns the red invoice (the original, negated) and the new blue invoice for
    the kept units, or ``None`` when nothing was kept.  A kept part of a line is
    valued at what was paid: amount × kept / qty, rounded half up.
    """
    for idx, units in returned.items():
        if not 0 <= idx < len(original.lines):
            raise InvoiceError(f"invoice {original.id} has no line {idx}")
        if not 0 < units <= original.lines[idx].qty:
            raise InvoiceError(f"line {idx}: cannot return {units} of {original.lines[idx].qty}")
    red = original.model_copy(
        update={
            "id": red_id,
            "kind": "red",
            "refers": original.id,
            "ts": ts,
            "lines": tuple(
                ln.model_copy(
                    update={
                        "qty": -ln.qty,
                        "gross": -ln.gross,
                        "discount": -ln.discount,
                        "amount": -ln.amount,
                        "amount_excluding_tax": -ln.amount_excluding_tax,
                        "tax": -ln.tax,
                    }
                )
                for ln in original.lines
            ),
        }
    )
    kept: list[InvoiceLine] = []
    for idx, ln in enumerate(original.lines):
        keep = ln.qty - returned.get(idx, 0)
        if keep <= 0:
            continue
        gross = _part(ln.gross, keep, ln.qty)
        amount = _part(ln.amount, keep, ln.qty)
        kept.append(
            line(
                ln.name,
                gross,
                ln.tax_rate,
                discount=gross - amount,
                gtin=ln.gtin,
                qty=keep,
                grams=ln.grams,
            )
        )
    if not kept:
        return red, None
    new = Invoice(
        id=new_id,
        sale=original.sale,
        refers=original.id,
        currency=original.currency,
        ts=ts,
        buyer=original.buyer,
        lines=tuple(kept),
    )
    return red, new


def _part(amount: int, keep: int, qty: int) -> int:
    return amount if keep == qty else round_half_up(Decimal(amount) * keep / qty)
