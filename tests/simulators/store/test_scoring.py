"""The trace of a wrong charge: the hands at the shopper's shelves around theirs, and
the session's cart lines with each sensor's word."""

from __future__ import annotations

from hub.unmanned.sessions import CartLine, Evidence, ShopperSession
from simulators.store.scoring import LoggedHand, cart_lines, hands_around

HANDS = [
    LoggedHand(100.0, "t1", "shelf-1", "100.000 t1 pick 0001 shelf-1/s1 (...)"),
    LoggedHand(101.0, "t2", "shelf-1", "101.000 t2 pick 0002 shelf-1/s2 (...)"),
    LoggedHand(102.0, "t3", "shelf-2", "102.000 t3 pick 0003 shelf-2/s1 (...)"),
    LoggedHand(110.0, "t2", "shelf-1", "110.000 t2 put 0002 shelf-1/s2 (...)"),
]


def text(*hands: LoggedHand) -> list[str]:
    return [h.text for h in hands]


def test_the_hands_at_the_shoppers_shelves_around_theirs() -> None:
    # t2's pick at shelf-1 is 1 s after t1's; t3 was at another shelf; t2's put-back is
    # 10 s later.
    t1_pick, t2_pick, _, t2_put = HANDS
    assert hands_around(HANDS, "t1") == text(t1_pick, t2_pick)
    assert hands_around(HANDS, "t2") == text(t1_pick, t2_pick, t2_put)
    assert hands_around(HANDS, "t2", around_s=0.5) == text(t2_pick, t2_put)
    assert hands_around(HANDS, "t9") == []


def test_cart_lines_carry_every_sensors_word() -> None:
    weight = Evidence(source="weight", device="shelf-1", ts=100.0, confidence=0.62,
                      slot="s1", tracks=("t1", "t2"), note="two shoppers in reach")  # fmt: skip
    vision = Evidence(source="vision", device="shelf-1", ts=100.1, confidence=0.9, slot="s1")
    session = ShopperSession(
        id="s-1", opened=90.0, via="qr",
        cart={"06901234000012": CartLine(gtin="06901234000012", qty=1, confidence=0.62,
                                         evidence=[weight, vision])},
    )  # fmt: skip
    assert cart_lines(session) == [
        "cart 06901234000012 × 1 (0.62)",
        "  100.000 weight shelf-1/s1 0.62 [t1 t2]: two shoppers in reach",
        "  100.100 vision shelf-1/s1 0.90 []",
    ]
