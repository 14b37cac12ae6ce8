"""hub.pricing: money and rounding, every promotion kind and their order, tax, e-invoice lines."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import pytest
from pydantic import ValidationError

from hub.pricing import (
    BasketItem,
    BuyXGetY,
    FixedPrice,
    InvoiceError,
    MemberPrice,
    MixAndMatch,
    MoneyError,
    PercentOff,
    PricedBasket,
    PricingError,
    Promotion,
    SpendThreshold,
    Tier,
    Unit,
    allocate,
    allocate_discount,
    format_minor,
    from_basket,
    parse_promotions,
    percent_of,
    price_basket,
    refund,
    round_half_up,
    tax_included,
    to_minor,
)

D = Decimal
TEA, RICE, SOY, APPLE = "06901234567892", "06901234561012", "06901234561029", "06901234562040"


def item(
    gtin: str = TEA, price: int = 450, qty: int = 1, rate: str = "0.13", name: str = ""
) -> BasketItem:
    return BasketItem(gtin, name or gtin[-4:], price, D(rate), qty=qty)


def price(
    items: list[BasketItem],
    promos: Sequence[Promotion] = (),
    member: str | None = None,
    now: float = 1000.0,
) -> PricedBasket:
    return price_basket(items, promos, currency="CNY", now=now, member=member)


# -- money -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "minor"), [("12.30", 1230), ("0.01", 1), ("7", 700), ("-1.5", -150)]
)
def test_to_minor_is_exact(text: str, minor: int) -> None:
    assert to_minor(text) == minor
    assert to_minor(D(text)) == minor


def test_money_refuses_floats_and_extra_decimals() -> None:
    with pytest.raises(MoneyError):
        to_minor(0.1)  # type: ignore[arg-type]
    with pytest.raises(MoneyError):
        to_minor("1.005")
    with pytest.raises(MoneyError):
        to_minor("abc")
    assert to_minor("1005", "JPY") == 1005
    with pytest.raises(MoneyError):
        to_minor("10.5", "JPY")


def test_format_minor() -> None:
    assert format_minor(1230) == "12.30"
    assert format_minor(-5) == "-0.05"
    assert format_minor(1005, "JPY") == "1005"
    assert format_minor(12345, "KWD") == "12.345"


@pytest.mark.parametrize(
    ("value", "rounded"), [("2.5", 3), ("3.5", 4), ("-2.5", -3), ("2.4999", 2)]
)
def test_rounding_is_half_up_not_bankers(value: str, rounded: int) -> None:
    assert round_half_up(D(value)) == rounded


def test_percent_and_tax_rounding() -> None:
    assert percent_of(450, D(15)) == 68  # 67.5 → 68
    assert tax_included(1275, D("0.17")) == 185  # 12.75 / 1.17 = 10.897 → 10.90
    assert tax_included(706, D(0)) == 0


def test_allocate_adds_up_and_gives_the_residual_to_the_largest() -> None:
    assert allocate(100, [1, 1, 1]) == [34, 33, 33]
    assert sum(allocate(3504, [2980, 1494, 1650])) == 3504
    assert allocate(0, [0, 0]) == [0, 0]
    assert allocate(10, [0, 5]) == [0, 10]
    with pytest.raises(MoneyError):
        allocate(5, [])


# -- promotions ----------------------------------------------------------------------------


def test_no_promotion_prices_at_list_with_tax_per_line() -> None:
    b = price([item(qty=2), item(SOY, 1280, rate="0.09")])
    assert (b.subtotal, b.discount, b.total) == (900 + 1280, 0, 2180)
    assert [ln.tax for ln in b.lines] == [
        tax_included(900, D("0.13")),
        tax_included(1280, D("0.09")),
    ]
    assert b.summary()["total"] == "21.80"


def test_percent_off_rounds_per_unit() -> None:
    b = price([item(price=455, qty=3)], [PercentOff(id="p15", percent=D(15))])
    # 4.55 × 15 % = 0.6825 → 0.68 off each unit
    assert b.total == 3 * (455 - 68)
    assert b.applied[0].amount == 3 * 68


def test_fixed_price_and_member_price_best_single_one_wins() -> None:
    promos: list[Promotion] = [
        FixedPrice(id="fix", price=D("3.99"), items=frozenset({TEA})),
        MemberPrice(id="mem", price=D("3.50"), items=frozenset({TEA})),
        PercentOff(id="pct", percent=D(10), items=frozenset({TEA})),
    ]
    assert price([item()], promos).total == 399  # not a member: fixed 3.99 < 4.05
    member = price([item()], promos, member="m-1")
    assert member.total == 350
    assert [a.promotion for a in member.lines[0].adjustments] == ["mem"]  # no stacking


def test_a_promotion_price_above_list_is_ignored() -> None:
    assert price([item()], [FixedPrice(id="f", price=D("5.00"))]).total == 450


def test_promotion_schedule_and_item_scope() -> None:
    promo = PercentOff(id="p", percent=D(50), items=frozenset({SOY}), starts=100, ends=200)
    items = [item(), item(SOY, 1280)]
    assert price(items, [promo], now=50).total == 450 + 1280
    assert price(items, [promo], now=150).total == 450 + 640
    assert price(items, [promo], now=200).total == 450 + 1280


def test_buy_two_get_one_free_takes_the_cheapest_of_each_group() -> None:
    promo = BuyXGetY(id="b2g1", buy=2, get=1, items=frozenset({TEA, RICE}))
    b = price([item(qty=2), item(RICE, 890, qty=2)], [promo])
    # units 8.90 8.90 4.50 | 4.50: one full group, its cheapest (4.50) free
    assert b.discount == 450
    assert b.total == 2 * 450 + 2 * 890 - 450


def test_buy_one_get_one_half_price() -> None:
    b = price([item(qty=4)], [BuyXGetY(id="h", buy=1, get=1, percent=D(50))])
    assert b.discount == 2 * 225


def test_mix_and_match_group_price_spread_over_its_units() -> None:
    promo = MixAndMatch(id="mm", qty=3, price=D("20.00"), items=frozenset({TEA, RICE, SOY}))
    b = price([item(), item(RICE, 890), item(SOY, 1280)], [promo])
    assert b.total == 2000
    assert sum(ln.discount for ln in b.lines) == 450 + 890 + 1280 - 2000
    # A dearer "deal" does nothing.
    assert price([item(), item(), item()], [promo]).total == 3 * 450
    with pytest.raises(ValidationError):
        MixAndMatch(id="x", qty=2, price=D(1))


def test_spend_threshold_tiers_and_repeat() -> None:
    tiers = SpendThreshold(
        id="mj", tiers=(Tier(spend=D(50), off=D(5)), Tier(spend=D(100), off=D(15)))
    )
    assert price([item(price=4900)], [tiers]).discount == 0
    assert price([item(price=5000)], [tiers]).discount == 500
    assert price([item(price=12000)], [tiers]).discount == 1500
    every = SpendThreshold(id="every", tiers=(Tier(spend=D(100), off=D(10)),), repeat=True)
    assert price([item(price=25000)], [every]).discount == 2000
    with pytest.raises(ValidationError):
        SpendThreshold(id="bad", tiers=(Tier(spend=D(10), off=D(20)),))


def test_stages_apply_in_order_item_then_quantity_then_basket() -> None:
    promos: list[Promotion] = [
        SpendThreshold(id="a-mj", priority=1, tiers=(Tier(spend=D(20), off=D(3)),)),
        BuyXGetY(id="b-b1g1", buy=1, get=1, items=frozenset({TEA})),
        PercentOff(id="c-pct", percent=D(10), items=frozenset({TEA})),
    ]
    b = price([item(qty=2), item(SOY, 1280, qty=2)], promos)
    tea = b.lines[0]
    # stage 2: tea 4.50 → 4.05; stage 3: one tea free; stage 4: 3.00 off 4.05 + 25.60
    assert tea.gross - sum(a.amount for a in tea.adjustments if a.promotion != "a-mj") == 405
    spend = {
        ln.item.gtin: sum(a.amount for a in ln.adjustments if a.promotion == "a-mj")
        for ln in b.lines
    }
    assert sum(spend.values()) == 300
    assert spend == dict(zip([TEA, SOY], allocate(300, [405, 2560]), strict=True))
    assert b.total == 405 + 2560 - 300
    assert b.basket_discount == 300
    # The same promotions in another order give the same result.
    assert price([item(qty=2), item(SOY, 1280, qty=2)], promos[::-1]).total == b.total


def test_exclusive_quantity_promotion_skips_units_already_promoted() -> None:
    promos: list[Promotion] = [
        PercentOff(id="pct", percent=D(10), items=frozenset({TEA})),
        BuyXGetY(id="b1g1", buy=1, get=1, exclusive=True),
    ]
    b = price([item(qty=2), item(RICE, 890, qty=2)], promos)
    assert b.discount == 2 * 45 + 890


def test_weighed_items_price_by_grams_or_printed_amount() -> None:
    apples = BasketItem(APPLE, "apples", 1298, D("0.09"), unit=Unit.KG, grams=1234)
    assert apples.gross() == round_half_up(D(1298) * 1234 / 1000)  # 16.017 → 16.02
    labelled = BasketItem(APPLE, "apples", 1298, D("0.09"), unit=Unit.KG, amount=777)
    b = price([apples, labelled], [FixedPrice(id="f", price=D("9.98"), items=frozenset({APPLE}))])
    assert b.lines[0].amount == round_half_up(D(998) * 1234 / 1000)
    assert b.lines[1].amount == 777  # a printed price has no weight to re-price
    with pytest.raises(PricingError):
        BasketItem(APPLE, "apples", 1298, D("0.09"), unit=Unit.KG)


def test_promotions_from_config_refuse_floats() -> None:
    parsed = parse_promotions(
        [
            {"type": "percent_off", "id": "p", "percent": "15"},
            {"type": "spend_threshold", "id": "mj", "tiers": [{"spend": "100", "off": "10"}]},
        ]
    )
    assert isinstance(parsed[0], PercentOff) and isinstance(parsed[1], SpendThreshold)
    with pytest.raises(ValidationError):
        parse_promotions([{"type": "fixed_price", "id": "f", "price": 9.9}])


# -- e-invoice -----------------------------------------------------------------------------

WORKED = [("A", 2980, D("0.17")), ("B", 1494, D("0.11")), ("C", 1650, D(0))]


def test_worked_example_allocation_and_tax() -> None:
    lines = allocate_discount(WORKED, 3504)
    assert [ln.discount for ln in lines] == [1705, 855, 944]
    assert [ln.amount for ln in lines] == [1275, 639, 706]
    assert sum(ln.amount for ln in lines) == 2620
    assert [ln.amount_excluding_tax for ln in lines] == [1090, 576, 706]
    assert [ln.tax for ln in lines] == [185, 63, 0]
    assert all(ln.tax == ln.amount - ln.amount_excluding_tax for ln in lines)


def test_worked_example_through_pricing_and_invoice() -> None:
    items = [item(f"0000000000{i}", p, rate=str(r), name=n) for i, (n, p, r) in enumerate(WORKED)]
    mj = SpendThreshold(id="mj", tiers=(Tier(spend=D("61.24"), off=D("35.04")),))
    b = price(items, [mj])
    assert b.total == 2620 and b.tax == 248
    inv = from_basket(b, id="B1", sale="S1", ts=0.0)
    assert [(ln.gross, ln.discount, ln.amount, ln.tax) for ln in inv.lines] == [
        (2980, 1705, 1275, 185),
        (1494, 855, 639, 63),
        (1650, 944, 706, 0),
    ]
    assert inv.record()["total"] == "26.20" and inv.record()["total_tax"] == "2.48"


def test_partial_refund_gives_a_red_record_and_a_new_one() -> None:
    b = price(
        [item(qty=3), item(SOY, 1280)],
        [SpendThreshold(id="mj", tiers=(Tier(spend=D(20), off=D(5)),))],
    )
    original = from_basket(b, id="B1", sale="S1", ts=0.0)
    red, new = refund(original, {0: 1}, red_id="R1", new_id="B2", ts=1.0)
    assert red.kind == "red" and red.refers == "B1"
    assert red.total == -original.total and red.total_tax == -original.total_tax
    assert new is not None and new.refers == "B1" and new.kind == "blue"
    tea = original.lines[0]
    assert new.lines[0].qty == 2
    assert new.lines[0].amount == round_half_up(D(tea.amount) * 2 / 3)
    assert new.lines[1] == original.lines[1]
    assert all(ln.tax == ln.amount - ln.amount_excluding_tax for ln in new.lines)
    red_all, none = refund(original, {0: 3, 1: 1}, red_id="R1", new_id="B2", ts=1.0)
    assert none is None and red_all.total == -original.total
    with pytest.raises(InvoiceError):
        refund(original, {0: 4}, red_id="R", new_id="B", ts=1.0)
    with pytest.raises(InvoiceError):
        refund(original, {5: 1}, red_id="R", new_id="B", ts=1.0)
