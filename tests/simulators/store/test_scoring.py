"""The trace of a wrong charge: the hands at the shopper's shelves around theirs, and
the session's cart lines with each sensor's word."""

from __future__ import annotations

from hub.unmanned.sessions import CartLine, Evidence, ShopperSession
from simulators.store.scoring import cart_lines, hands_around

LOG = [
    "100.000 t1 pick 0001 shelf-1/s1 (stands at s1; arm: t1, camera: t1, at the shelf: t1@s1)",
    "101.000 t2 pick 0002 shelf-1/s2 (stands at s2; arm: t1, camera: t2, at the shelf: ...)",
    "102.000 t3 pick 0003 shelf-2/s1 (stands at s1; arm: t3, camera: t3, at the shelf: t3@s1)",
    "103.500 t1 at the counter: payment p1",
    "110.000 t2 put 0002 shelf-1/s2 (stands at s2; arm: t2, camera: -, at the shelf: t2@s2)",
    "shopper 4: not let in",
]


def test_the_hands_at_the_shoppers_shelves_around_theirs() -> None:
    # t2's pick at shelf-1 is 1 s after t1's; t3 was at another shelf; t2's put-back is
    # 10 s later; the counter line and the door's are not hands.
    assert hands_around(LOG, "t1") == LOG[:2]
    assert hands_around(LOG, "t2") == [LOG[0], LOG[1], LOG[4]]
    assert hands_around(LOG, "t2", around_s=0.5) == [LOG[1], LOG[4]]
    assert hands_around(LOG, "t9") == []


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
