"""Basket pricing shared by every checkout path: money, promotions, tax, e-invoice lines.

Pure: no I/O, no clock (the caller passes ``now``).  See docs/pricing.md.

    items = [BasketItem(gtin, name, unit_price=990, tax_rate=Decimal("0.13"), qty=2)]
    basket = price_basket(items, promotions, currency="CNY", now=time.time(), member=None)
    basket.total, basket.tax, basket.lines[0].adjustments
"""

from hub.pricing.basket import (
    Adjustment,
    AppliedPromotion,
    BasketItem,
    PricedBasket,
    PricedLine,
    PricingError,
    Unit,
)
from hub.pricing.engine import price_basket
from hub.pricing.invoice import (
    Invoice,
    InvoiceError,
    InvoiceLine,
    allocate_discount,
    from_basket,
    refund,
)
from hub.pricing.money import (
    MoneyError,
    allocate,
    format_minor,
    percent_of,
    round_half_up,
    tax_included,
    to_minor,
)
from hub.pricing.promotions import (
    BuyXGetY,
    FixedPrice,
    MemberPrice,
    MixAndMatch,
    PercentOff,
    Promotion,
    SpendThreshold,
    Tier,
    parse_promotions,
)

__all__ = [
    "Adjustment",
    "AppliedPromotion",
    "BasketItem",
    "BuyXGetY",
    "FixedPrice",
    "Invoice",
    "InvoiceError",
    "InvoiceLine",
    "MemberPrice",
    "MixAndMatch",
    "MoneyError",
    "PercentOff",
    "PricedBasket",
    "PricedLine",
    "PricingError",
    "Promotion",
    "SpendThreshold",
    "Tier",
    "Unit",
    "allocate",
    "allocate_discount",
    "format_minor",
    "from_basket",
    "parse_promotions",
    "percent_of",
    "price_basket",
    "refund",
    "round_half_up",
    "tax_included",
    "to_minor",
]
