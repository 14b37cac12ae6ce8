"""Price a basket: a pure function, the same for every checkout path.

Order of application (deterministic; documented in docs/pricing.md):

1. **List price** — each line's gross: catalog unit price × quantity, price per kg ×
   grams (rounded half up), or the amount printed in a variable-measure barcode.
2. **Unit-price promotions** (``percent_off``, ``fixed_price``, ``member_price``) —
   each line gets the *single best* of those that cover it (the lowest amount; a
   tie goes to the lower ``(priority, id)``).  They never stack with each other:
   a shelf shows one promotional price.  A percentage is taken off the unit price
   (rounded per unit, so every unit of a line costs the same).
3. **Quantity promotions** (``buy_x_get_y``, ``mix_and_match``) — in ``(priority,
   id)`` order, on the unit prices left by stage 2.  Each unit takes part in at most
   one of them.  Units are sorted dearest first and taken in groups; only full
   groups count; units of an incomplete group stay free for the next promotion.
4. **Spend thresholds** (满减) — in ``(priority, id)`` order, on the eligible lines'
   amounts after the stages before (each threshold sees what earlier ones left).
   The discount is spread over those lines in proportion to their amounts
   (:func:`~hub.pricing.money.allocate`).
5. **Tax** — prices include tax; per line, tax = amount − round(amount / (1 + rate)).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from hub.pricing.basket import (
    Adjustment,
    AppliedPromotion,
    BasketItem,
    PricedBasket,
    PricedLine,
    PricingError,
    Unit,
)
from hub.pricing.money import allocate, percent_of, round_half_up, tax_included, to_minor
from hub.pricing.promotions import (
    BuyXGetY,
    FixedPrice,
    MemberPrice,
    MixAndMatch,
    PercentOff,
    Promotion,
    SpendThreshold,
)


@dataclass
class _Line:
    item: BasketItem
    gross: int
    amount: int
    #: Price of one unit after stage 2 (countable lines only).
    unit_net: int
    item_promoted: bool = False
    #: Units already used by a quantity promotion.
    used: int = 0
    adjustments: dict[str, tuple[str, int]] = field(default_factory=dict)

    def adjust(self, promo: Promotion, amount: int) -> None:
        if amount == 0:
            return
        label, before = self.adjustments.get(promo.id, (promo.label, 0))
        self.adjustments[promo.id] = (label, before + amount)
        self.amount -= amount


def price_basket(
    items: Sequence[BasketItem],
    promotions: Sequence[Promotion],
    *,
    currency: str,
    now: float,
    member: str | None = None,
) -> PricedBasket:
    """Price ``items`` with the ``promotions`` active at ``now`` (see the module doc)."""
    lines = [_Line(item, g, g, _unit(item, g)) for item in items for g in (item.gross(),)]
    active = sorted((p for p in promotions if p.active(now)), key=lambda p: p.order)
    totals: dict[str, int] = defaultdict(int)
    kinds: dict[str, Promotion] = {}

    def record(promo: Promotion, amount: int) -> None:
        totals[promo.id] += amount
        kinds[promo.id] = promo

    for line in lines:
        best = _best_unit_price(line, active, currency, member)
        if best is not None:
            promo, new_amount = best
            cut = line.amount - new_amount
            line.adjust(promo, cut)
            line.unit_net = new_amount // line.item.qty if line.item.countable else line.unit_net
            line.item_promoted = True
            record(promo, cut)
    for promo in active:
        if isinstance(promo, BuyXGetY | MixAndMatch):
            for idx, cut in _quantity(promo, lines, currency).items():
                lines[idx].adjust(promo, cut)
                record(promo, cut)
    basket_discount = 0
    for promo in active:
        if isinstance(promo, SpendThreshold):
            cut = _spend(promo, lines, currency)
            basket_discount += cut
            if cut:
                record(promo, cut)
    priced = tuple(
        PricedLine(
            item=ln.item,
            gross=ln.gross,
            amount=ln.amount,
            tax=tax_included(ln.amount, ln.item.tax_rate),
            adjustments=tuple(
                Adjustment(pid, label, amt) for pid, (label, amt) in ln.adjustments.items()
            ),
        )
        for ln in lines
    )
    applied = tuple(
        AppliedPromotion(pid, kinds[pid].label, kinds[pid].type, amount)
        for pid, amount in totals.items()
        if amount
    )
    return PricedBasket(
        currency=currency,
        lines=priced,
        applied=applied,
        member=member,
        basket_discount=basket_discount,
    )


def _unit(item: BasketItem, gross: int) -> int:
    return gross // item.qty if item.countable else gross


def _best_unit_price(
    line: _Line, active: Sequence[Promotion], currency: str, member: str | None
) -> tuple[Promotion, int] | None:
    item = line.item
    best: tuple[Promotion, int] | None = None
    for promo in active:  # already in (priority, id) order: the first of equals wins
        if not promo.covers(item.gtin):
            continue
        amount: int | None = None
        if isinstance(promo, PercentOff):
            if item.countable:
                amount = (item.unit_price - percent_of(item.unit_price, promo.percent)) * item.qty
            else:
                amount = line.gross - percent_of(line.gross, promo.percent)
        elif isinstance(promo, FixedPrice | MemberPrice):
            if isinstance(promo, MemberPrice) and member is None:
                continue
            price = to_minor(promo.price, currency)
            if item.countable:
                amount = price * item.qty
            elif item.unit is Unit.KG and item.amount is None and item.grams is not None:
                amount = round_half_up(Decimal(price) * item.grams / 1000)
            # A price-labelled weighed item has no weight to re-price: skip.
        if amount is not None and amount < line.gross and (best is None or amount < best[1]):
            best = (promo, amount)
    return best


def _quantity(promo: BuyXGetY | MixAndMatch, lines: list[_Line], currency: str) -> dict[int, int]:
    """Reductions per line index for one quantity promotion; marks the units it used."""
    units = [
        (ln.unit_net, idx)
        for idx, ln in enumerate(lines)
        if ln.item.countable
        and promo.covers(ln.item.gtin)
        and not (promo.exclusive and ln.item_promoted)
        for _ in range(ln.item.qty - ln.used)
    ]
    units.sort(key=lambda u: (-u[0], u[1]))
    size = promo.buy + promo.get if isinstance(promo, BuyXGetY) else promo.qty
    cuts: dict[int, int] = defaultdict(int)
    for start in range(0, len(units) - size + 1, size):
        group = units[start : start + size]
        if isinstance(promo, BuyXGetY):
            for price, idx in group[promo.buy :]:
                cuts[idx] += percent_of(price, promo.percent)
        else:
            saving = sum(p for p, _ in group) - to_minor(promo.price, currency)
            if saving <= 0:
                continue  # the group price is no bargain for these units
            for (_, idx), share in zip(group, allocate(saving, [p for p, _ in group]), strict=True):
                cuts[idx] += share
        for _, idx in group:
            lines[idx].used += 1
    return dict(cuts)


def _spend(promo: SpendThreshold, lines: list[_Line], currency: str) -> int:
    eligible = [ln for ln in lines if promo.covers(ln.item.gtin) and ln.amount > 0]
    spent = sum(ln.amount for ln in eligible)
    off = 0
    for tier in sorted(promo.tiers, key=lambda t: t.spend):
        spend, tier_off = to_minor(tier.spend, currency), to_minor(tier.off, currency)
        if spent >= spend:
            off = tier_off * (spent // spend) if promo.repeat else tier_off
    off = min(off, spent)
    if off == 0:
        return 0
    for ln, share in zip(eligible, allocate(off, [ln.amount for ln in eligible]), strict=True):
        ln.adjust(promo, share)
    return off


def check_currency(currency: str, items: Sequence[BasketItem], currencies: Sequence[str]) -> None:
    """Refuse a basket whose items are priced in another currency than the store's."""
    for item, cur in zip(items, currencies, strict=True):
        if cur != currency:
            raise PricingError(f"{item.gtin} is priced in {cur}, the basket in {currency}")
