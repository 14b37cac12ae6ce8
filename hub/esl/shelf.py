"""What a label shows: its item (catalog), shelf price and promotion (price book), unit price."""

from __future__ import annotations

from hub.catalog import Catalog, Item
from hub.esl.content import LabelContent
from hub.esl.labels import Label
from hub.esl.prices import PriceBook

#: Unit-price basis → (content unit, how many of it the basis is).
BASIS: dict[str, tuple[str, float]] = {
    "kg": ("g", 1000),
    "100 g": ("g", 100),
    "L": ("ml", 1000),
    "100 ml": ("ml", 100),
    "pc": ("pc", 1),
}
TO_BASE: dict[str, tuple[str, float]] = {
    "g": ("g", 1),
    "kg": ("g", 1000),
    "ml": ("ml", 1),
    "L": ("ml", 1000),
    "pc": ("pc", 1),
}


def label_content(
    label: Label,
    prices: PriceBook,
    catalog: Catalog,
    units: dict[str, tuple[float, str, str]],
    group: str,
    at: float,
) -> LabelContent | str:
    """What ``label`` should show at ``at``, or why it cannot show anything."""
    if label.gtin is None:
        return "not bound"
    shelf = prices.price(label.gtin, group, label.zone, at)
    item: Item | None = catalog.get(label.gtin)
    if shelf is None and item is None:
        return "no price for this item"
    name = item.name if item is not None else label.gtin
    price = shelf.price if shelf else item.price  # type: ignore[union-attr]
    currency = shelf.currency if shelf else item.currency  # type: ignore[union-attr]
    unit_price = basis = None
    if item is not None and item.unit == "kg":
        basis = "kg"  # the price itself is per kg; no second line needed
    elif label.gtin in units:
        qty, unit, basis = units[label.gtin]
        per, size = BASIS[basis]
        base_unit, factor = TO_BASE[unit]
        if base_unit == per and qty > 0:
            shown = shelf.promo_price if shelf and shelf.promo_price is not None else price
            unit_price = round(shown * size / (qty * factor))
    return LabelContent(
        gtin=label.gtin,
        name=name,
        price=price,
        currency=currency,
        promo_price=shelf.promo_price if shelf else None,
        promo_text=shelf.promo_text if shelf else None,
        unit_price=unit_price,
        unit_basis=basis if unit_price is not None else None,
    )
