"""hub.checkout.bagging and hub.checkout.session: the weight check and the kiosk's rules."""

from __future__ import annotations

from decimal import Decimal

from hub.catalog import Item
from hub.checkout.bagging import BagScale, Expectation, WeightBook
from hub.checkout.session import (
    AGE,
    ASSIST,
    HELP,
    Effect,
    EndBasket,
    KioskSession,
    Raise,
    Reprice,
    Resolve,
    Send,
)

TEA = Item(gtin="6901234567892", name="Green tea", price=450, weight_g=520)
SOY = Item(gtin="6901234561029", name="Soy sauce", price=1280, weight_g=610)
BEER = Item(gtin="6901234562088", name="Beer", price=650, weight_g=530, age_restricted=True)
APPLE = Item(gtin="6901234562040", name="Apples", price=1298, unit="kg")
CATALOG = {i.gtin: i for i in (TEA, SOY, BEER, APPLE)}


def exp(item: Item, tol: float = 15.0) -> Expectation:
    return WeightBook().expect(item.gtin, item.weight_g, tol, 0.05)


def session() -> KioskSession:
    s = KioskSession("kiosk-1", BagScale(place_timeout_s=20.0), abandon_after_s=300.0)
    s.weight(100.0, 0.0)  # empty bags on the scale before anyone shops
    return s


def commands(effects: list[Effect], name: str) -> list[Send]:
    return [e for e in effects if isinstance(e, Send) and e.command == name]


def raised(effects: list[Effect]) -> list[str]:
    return [e.kind for e in effects if isinstance(e, Raise)]


# -- the scale ---------------------------------------------------------------------------------


def test_learned_weights_need_samples_and_widen_the_tolerance() -> None:
    book = WeightBook(min_samples=3)
    assert book.expect("x", None, 15.0, 0.05) == Expectation(None, 15.0)
    for grams in (200.0, 210.0, 190.0):
        book.learn("x", grams)
    learned = book.expect("x", None, 15.0, 0.05)
    assert learned.grams == 200.0
    assert learned.tolerance == 30.0  # 3 σ (σ = 10 g) beats 15 g and 5 %
    assert book.expect("x", 500.0, 15.0, 0.05) == Expectation(500.0, 25.0)  # the catalog wins


def test_items_placed_in_order_even_two_at_once() -> None:
    scale = BagScale()
    scale.start()
    scale.scanned(1, Expectation(520.0, 15.0), 0.0)
    scale.scanned(2, Expectation(610.0, 15.0), 0.0)
    out = scale.weigh(1128.0)
    assert [p.line for p in out.placed] == [1, 2] and out.problem is None
    assert scale.pending == 0


# -- the session -------------------------------------------------------------------------------


def test_scan_then_place_is_quiet() -> None:
    s = session()
    effects = s.scan(TEA, code="6901234567892", expect=exp(TEA), now=1.0)
    assert any(isinstance(e, Reprice) for e in effects) and s.phase == "shopping"
    assert s.cannot_pay() is not None  # not bagged yet
    assert s.weight(100.0, 2.0) == []  # nothing placed yet: wait
    assert s.weight(618.0, 3.0) == []  # 518 g ≈ 520 g
    assert s.cannot_pay() is None and s.locked is None


def test_a_swapped_item_locks_the_kiosk_until_staff_clear_it() -> None:
    s = session()
    s.scan(TEA, code="t", expect=exp(TEA), now=1.0)
    effects = s.weight(1080.0, 2.0)  # 980 g: a bottle of baijiu instead of tea
    assert commands(effects, "lock") and raised(effects) == [ASSIST]
    alert = next(e for e in effects if isinstance(e, Raise))
    assert alert.data["reason"] == "unexpected_weight" and alert.data["item"] == TEA.gtin
    assert s.cannot_pay() is not None
    assert commands(s.scan(SOY, code="s", expect=exp(SOY), now=3.0), "message")  # refused
    cleared = s.staff("clear", staff="amy", now=4.0)
    assert commands(cleared, "unlock") and Resolve(ASSIST) in cleared
    assert s.locked is None and s.scale.expected == 1080.0


def test_unscanned_and_removed_items() -> None:
    s = session()
    s.scan(TEA, code="t", expect=exp(TEA), now=1.0)
    s.weight(620.0, 2.0)
    added = s.weight(1230.0, 3.0)
    assert raised(added) == [ASSIST] and s.locked == "unscanned_item"
    s.clear()
    removed = s.weight(620.0, 4.0)
    assert raised(removed) == [ASSIST]
    assert str(s.locked) == "item_removed"


def test_an_item_never_placed_is_reported_once_after_the_timeout() -> None:
    s = session()
    s.scan(SOY, code="s", expect=exp(SOY), now=1.0)
    assert s.tick(20.0) == []
    effects = s.tick(21.5)
    assert s.locked == "not_placed" and raised(effects) == [ASSIST]
    assert s.tick(50.0) == []


def test_age_restricted_item_needs_staff_before_paying() -> None:
    s = session()
    effects = s.scan(BEER, code="b", expect=exp(BEER), now=1.0)
    assert raised(effects) == [AGE]
    s.weight(630.0, 2.0)
    assert s.cannot_pay() and "age" in (s.cannot_pay() or "")
    assert Resolve(AGE) in s.staff("approve_age", staff="amy", now=3.0)
    assert s.cannot_pay() is None


def test_help_raises_an_alert_without_locking() -> None:
    s = session()
    assert raised(s.help(1.0)) == [HELP] and s.locked is None


def test_a_weighed_item_is_weighed_by_the_bagging_scale() -> None:
    s = session()
    s.scan(APPLE, code="a", expect=Expectation(None, 15.0), now=1.0)
    assert s.items(CATALOG.get, Decimal("0.09")) == []  # no weight yet, no price
    effects = s.weight(1334.0, 2.0)
    assert any(isinstance(e, Reprice) for e in effects)
    ((number, item),) = s.items(CATALOG.get, Decimal("0.09"))
    assert number == 1 and item.grams == 1234 and item.gross() == 1602


def test_lines_group_units_and_void_removes_the_last_one() -> None:
    s = session()
    for i in range(2):
        s.scan(TEA, code="t", expect=None, now=1.0 + i, epcs=(f"E{i}",))
    s.scan(SOY, code="s", expect=None, now=3.0)
    items = s.items(CATALOG.get, Decimal("0.13"))
    assert [(n, b.qty, b.epcs) for n, b in items] == [(1, 2, ("E0", "E1")), (2, 1, ())]
    s.staff("void_line", staff="amy", line=1, now=4.0)
    assert [(n, b.qty) for n, b in s.items(CATALOG.get, Decimal("0.13"))] == [(1, 1), (2, 1)]


def test_payment_ids_follow_the_basket_and_the_attempt() -> None:
    s = session()
    s.scan(TEA, code="t", expect=None, now=1.0)
    first = s.payment_id()
    assert s.payment_id() == first  # a retried pay finds the same payment
    s.paying(first)
    s.payment_over("failed")
    assert s.phase == "shopping" and s.payment_id() != first


def test_paid_teaches_the_weights_and_starts_over() -> None:
    s = session()
    s.scan(TEA, code="t", expect=exp(TEA), now=1.0)
    s.weight(622.0, 2.0)
    s.paying(s.payment_id())
    assert s.paid() == [(TEA.gtin, 522.0)]
    assert s.phase == "idle" and s.lines == []
    assert s.weight(0.0, 3.0) == []  # bags taken away between shoppers: nothing to check


def test_an_abandoned_basket_ends() -> None:
    s = session()
    s.scan(TEA, code="t", expect=None, now=1.0)
    s.paying("p-1")
    effects = s.tick(302.0)
    ended = [e for e in effects if isinstance(e, EndBasket)]
    assert ended and ended[0].payment == "p-1" and ended[0].reason == "abandoned"
    assert s.phase == "idle"
