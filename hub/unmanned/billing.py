"""The bill of a session: its cart priced like a kiosk basket, with evidence.

Lines are priced by :func:`hub.pricing.price_basket` with the checkout's
promotions at the time of the bill, so an unmanned sale and a kiosk sale of the
same basket cost the same.  Each line keeps the evidence of its cart line; the
bill's confidence is its least sure line.  Whether it is charged at once or
goes to the review queue first is the caller's decision
(``confidence < review_threshold`` → review).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from hub.catalog import Item
from hub.checkout.ledger import Draft
from hub.checkout.sales import sale_lines
from hub.pricing import Promotion, price_basket
from hub.pricing.basket import BasketItem, Unit
from hub.unmanned.sessions import CartLine, Evidence

#: Confidence of a bill whose session may have taken something not in its cart.
DOUBT_CONFIDENCE = 0.5


class BillLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    gtin: str
    name: str
    qty: int
    unit_price: int
    amount: int
    confidence: float
    epcs: tuple[str, ...] = ()
    evidence: tuple[Evidence, ...] = ()


class Bill(BaseModel):
    model_config = ConfigDict(frozen=True)

    session: str | None
    device: str | None
    ts: float
    currency: str
    lines: tuple[BillLine, ...]
    total: int
    confidence: float = Field(ge=0, le=1)
    #: Why confidence is low (shown to the reviewer).
    reasons: tuple[str, ...] = ()
    member: str | None = None


def merged(cart: Sequence[CartLine], extra: Sequence[CartLine]) -> list[CartLine]:
    """The cart's lines with ``extra`` ones added (same GTIN: one line, the less sure
    confidence, both lines' EPCs and evidence)."""
    lines = list(cart)
    for line in extra:
        mine = next((ln for ln in lines if ln.gtin == line.gtin), None)
        if mine is None:
            lines.append(line)
        else:
            lines[lines.index(mine)] = CartLine(
                gtin=line.gtin,
                qty=mine.qty + line.qty,
                confidence=min(mine.confidence, line.confidence),
                epcs=[*mine.epcs, *line.epcs],
                evidence=[*mine.evidence, *line.evidence],
            )
    return lines


def make_bill(
    cart: Sequence[CartLine],
    *,
    lookup: Callable[[str], Item | None],
    promotions: Sequence[Promotion],
    currency: str,
    default_tax: Decimal,
    now: float,
    store: str,
    session: str | None,
    device: str | None,
    member: str | None = None,
    basket: str | None = None,
    doubts: tuple[str, ...] = (),
) -> tuple[Bill, Draft]:
    """The bill and the sale draft a payment pays for. Lines whose item the catalog
    does not know cannot be priced: they make the bill unsure (confidence 0)."""
    items: list[BasketItem] = []
    conf: dict[str, float] = {}
    evidence: dict[str, list[Evidence]] = {}
    reasons: list[str] = []
    for line in cart:
        if line.qty <= 0:
            continue
        item = lookup(line.gtin)
        if item is None:
            reasons.append(f"{line.gtin}: not in the catalog")
            continue
        # Keyed by the catalog's GTIN-14: the sale lines below carry that form.
        conf[item.gtin] = min(conf.get(item.gtin, 1.0), line.confidence)
        evidence.setdefault(item.gtin, []).extend(line.evidence)
        # Sold by weight: the shelf's grams are the measure (evidence carries them).
        measure: dict[str, Any] = (
            {"unit": Unit.KG, "grams": round((item.weight_g or 1000.0) * line.qty)}
            if item.unit == "kg"
            else {"qty": line.qty}
        )
        items.append(
            BasketItem(
                gtin=item.gtin,
                name=item.name,
                unit_price=item.price,
                tax_rate=item.tax_rate if item.tax_rate is not None else default_tax,
                epcs=tuple(line.epcs),
                **measure,
            )
        )
        if line.confidence < 1.0:
            why = {e.note for e in line.evidence if e.note}
            if why:
                reasons.append(f"{item.name}: {'; '.join(sorted(why))}")
    priced = price_basket(items, promotions, currency=currency, now=now, member=member)
    lines, promos = sale_lines(priced)
    bill_lines = tuple(
        BillLine(
            gtin=sl.gtin,
            name=sl.name,
            qty=sl.qty,
            unit_price=sl.unit_price,
            amount=sl.amount,
            confidence=conf.get(sl.gtin, 1.0),
            epcs=sl.epcs,
            evidence=tuple(evidence.get(sl.gtin, ())),
        )
        for sl in lines
    )
    unknown = tuple(
        BillLine(
            gtin=ln.gtin,
            name="(unknown item)",
            qty=ln.qty,
            unit_price=0,
            amount=0,
            confidence=0.0,
            epcs=tuple(ln.epcs),
            evidence=tuple(ln.evidence),
        )
        for ln in cart
        if ln.qty > 0 and lookup(ln.gtin) is None
    )
    all_lines = bill_lines + unknown
    confidence = min((ln.confidence for ln in all_lines), default=1.0)
    if doubts:
        # The cart may miss an item a crowd took: never charge it without a look.
        confidence = min(confidence, DOUBT_CONFIDENCE)
        reasons += [f"maybe missing: {d}" for d in doubts]
    bill = Bill(
        session=session,
        device=device,
        ts=now,
        currency=currency,
        lines=all_lines,
        total=sum(ln.amount for ln in lines),
        confidence=confidence,
        reasons=tuple(reasons),
        member=member,
    )
    draft = Draft(
        store=store,
        device=device,
        basket=basket,
        member=member,
        currency=currency,
        lines=lines,
        promotions=promos,
    )
    return bill, draft
