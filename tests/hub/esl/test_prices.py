"""Shelf prices per group and zone, effective times, promotions; batch progress."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from hub.esl.batches import BatchProgress, PriceBatchIn
from hub.esl.prices import PriceBook, PriceRow, PromoRow

G = "06901234567892"


def book() -> PriceBook:
    b = PriceBook()
    b.add_price(PriceRow(G, 1000, "CNY", 100.0))
    b.add_price(PriceRow(G, 900, "CNY", 100.0, group="school"))
    b.add_price(PriceRow(G, 950, "CNY", 100.0, zone="fresh"))
    b.add_price(PriceRow(G, 800, "CNY", 100.0, group="school", zone="fresh"))
    b.add_price(PriceRow(G, 1100, "CNY", 200.0, batch="b2"))
    return b


@pytest.mark.parametrize(
    ("group", "zone", "at", "price"),
    [
        ("default", None, 150, 1000),
        ("default", None, 250, 1100),
        ("school", None, 250, 900),
        ("default", "fresh", 150, 950),
        ("school", "fresh", 250, 800),
        ("default", None, 50, None),
    ],
)
def test_most_specific_scope_then_latest_effective(
    group: str, zone: str | None, at: float, price: int | None
) -> None:
    found = book().price(G, group, zone, at)
    assert (found.price if found else None) == price


def test_promotion_window_and_changes() -> None:
    b = book()
    b.add_promotion(PromoRow(G, 700, 300.0, 400.0, "特价", batch="p"))
    assert b.price(G, "default", None, 299).promo_price is None  # type: ignore[union-attr]
    live = b.price(G, "default", None, 300)
    assert live is not None and live.promo_price == 700 and live.promo_text == "特价"
    assert b.price(G, "default", None, 400).promo_price is None  # type: ignore[union-attr]
    assert b.changes_between(150, 300) == {G: {"b2", "p"}}
    assert b.changes_between(300, 399) == {}
    assert b.next_change(300) == 400.0


def test_rows_already_effective_are_not_scheduled() -> None:
    b = PriceBook()
    b.add_price(PriceRow(G, 1, "CNY", 10.0, batch="x"), now=20.0)
    b.add_price(PriceRow(G, 2, "CNY", 30.0, batch="y"), now=20.0)
    assert b.changes_between(0, 100) == {G: {"y"}}


def test_batch_input_is_strict() -> None:
    ok = PriceBatchIn.model_validate({"prices": [{"gtin": G, "price": "9.90"}]})
    assert ok.prices[0].group == "*"
    with pytest.raises(ValidationError):
        PriceBatchIn.model_validate({"prices": [{"gtin": G, "price": 9.9}]})  # money as float
    with pytest.raises(ValidationError):
        PriceBatchIn.model_validate({"prices": [{"gtin": G, "price": "9.90", "typo": 1}]})
    assert (
        ok.body_hash()
        == PriceBatchIn.model_validate(
            {"idempotency_key": "other", "prices": [{"gtin": G, "price": "9.90"}]}
        ).body_hash()
    )


def test_progress_counts_are_cumulative() -> None:
    b = BatchProgress("b", "k", "h", 0.0)
    for label in "abcd":
        b.set(label, "queued", now=1)
    for label in "abc":
        b.set(label, "rendered", now=2)
        b.set(label, "sent", now=3)
    b.set("a", "confirmed", now=4)
    b.set("b", "failed", "battery", now=4)
    b.set("a", "sent", now=5)  # late: never backwards
    s = b.summary()
    assert (s["total"], s["queued"], s["rendered"], s["sent"]) == (4, 4, 3, 3)
    assert (s["confirmed"], s["failed"], s["done"]) == (1, 1, False)
    b.set("c", "confirmed", now=6)
    b.set("d", "skipped", now=6)
    s = b.summary()
    assert s["done"] and s["finished"] == 6 and s["skipped"] == 1 and s["queued"] == 3
    assert s["errors"] == {"b": "battery"}
