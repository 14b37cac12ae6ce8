"""One scale change, one hand: what from the weight, who from the camera and ceiling."""

from __future__ import annotations

from collections.abc import Mapping

from hub.unmanned.hands import Pending, Seen
from hub.unmanned.one_hand import SlotView, decide_one, fits

TEA, NOODLES, SOY = "06901234567892", "06901234561036", "06901234561029"
WEIGHTS = {TEA: 520.0, NOODLES: 540.0, SOY: 610.0}


def view(
    held: Mapping[str, Mapping[str, int]] | None = None, misplaced: Mapping[str, int] | None = None
) -> SlotView:
    return SlotView(TEA, misplaced or {}, 2.0, lambda t: (held or {}).get(t, {}), WEIGHTS.get)


def change(delta: float, *tracks: str, front: frozenset[str] | None = None) -> Pending:
    return Pending("shelf-1", "a", 2.0, delta, tracks, 0.0, front)


def test_the_weight_counts_and_names_the_item() -> None:
    assert fits([TEA, SOY], 1041.0, 2.0, WEIGHTS.get) == [(TEA, 2)]
    assert fits([TEA], 300.0, 2.0, WEIGHTS.get) == []
    # 14,040 g is 27 teas or 26 noodle packs: both fit, the weight alone cannot tell.
    assert sorted(fits([TEA, NOODLES], 14040.0, 2.0, WEIGHTS.get)) == [(NOODLES, 26), (TEA, 27)]


def test_the_camera_decides_between_items_whose_weights_both_fit() -> None:
    cam = Seen(1.7, "pick", NOODLES, 1, 0.9, "t1")
    pick = decide_one(change(-538.0, "t1"), "pick", cam, set(), (), view(misplaced={NOODLES: 1}))
    assert (pick.gtin, pick.count, pick.confidence) == (NOODLES, 1, 1.0)
    unsure = decide_one(change(-538.0, "t1"), "pick", None, set(), (), view(misplaced={NOODLES: 1}))
    assert unsure.gtin == TEA and unsure.confidence == 0.6


def test_who_among_several_the_ceiling_or_the_holder_or_nobody_sure() -> None:
    p = change(-520.0, "t1", "t2")
    by_arm = decide_one(p, "pick", None, {"t2"}, (), view())
    assert (by_arm.track, by_arm.confidence, by_arm.also) == ("t2", 0.95, ())
    nobody = decide_one(p, "pick", None, set(), (), view())
    assert nobody.confidence == 0.4 and set((nobody.track, *nobody.also)) == {"t1", "t2"}
    put = decide_one(change(520.0, "t1", "t2"), "put", None, set(), (), view({"t2": {TEA: 1}}))
    assert (put.track, put.confidence) == ("t2", 0.95)
    # Among several who hold it: unsure, but one of them (not one who holds none).
    held = view({"t2": {TEA: 1}, "t3": {TEA: 2}})
    put = decide_one(change(520.0, "t1", "t2", "t3"), "put", None, set(), (), held)
    assert (put.track, put.confidence) == ("t2", 0.4)


def test_a_stray_hand_or_more_units_than_seen_doubt_the_others() -> None:
    p = change(-1040.0, "t1", "t2")
    cam = Seen(1.7, "pick", TEA, 1, 0.9, "t1")
    pick = decide_one(p, "pick", cam, {"t1"}, (), view())
    assert (pick.count, pick.also) == (2, ("t2",)) and pick.confidence < 0.9
    # The one unit the camera saw t1 take is t1's for sure; only the other is in doubt.
    assert (pick.sure, pick.sure_confidence) == (1, 0.99)
    stray = Seen(1.6, "put", TEA, 1, 0.9, "t2")
    one = decide_one(change(-520.0, "t1", "t2"), "pick", cam, {"t1"}, (stray,), view())
    assert one.also == ("t2",) and "does not show" in (one.evidence[0].note or "")
    assert one.sure == 0  # (a stray hand: not even the seen hand's unit is sure)


def test_views_naming_different_shoppers_doubt_only_those_two() -> None:
    p = change(-520.0, "t1", "t2", "t3", "t4")
    cam = Seen(1.7, "pick", TEA, 1, 0.9, "t1")
    pick = decide_one(p, "pick", cam, {"t3"}, (), view())
    assert (pick.track, pick.also) == ("t1", ("t3",)) and pick.confidence < 0.5


def test_where_they_stand_settles_two_views_that_disagree() -> None:
    cam = Seen(1.7, "pick", TEA, 1, 0.9, "t1")
    # The camera saw t1's hand, the ceiling t2's arm; t1 stands in front of the slot,
    # t2 at the next one: t1's, sure enough to bill.
    pick = decide_one(change(-520.0, "t1", "t2", front=frozenset({"t1"})), "pick", cam, {"t2"},
                      (), view())  # fmt: skip
    assert (pick.track, pick.also) == ("t1", ()) and pick.confidence >= 0.9
    assert "t2 stood at another slot, t1 in front of it" in (pick.evidence[0].note or "")
    # The other way round (the camera names the one beside it): likelier the ceiling's,
    # still unsure, a dispute between the two.
    pick = decide_one(change(-520.0, "t1", "t2", front=frozenset({"t2"})), "pick", cam, {"t2"},
                      (), view())  # fmt: skip
    assert (pick.track, pick.also) == ("t2", ("t1",)) and 0.5 < pick.confidence < 0.9
    # Unknown stances, or both standing in front: as before, unsure.
    for front in (None, frozenset({"t1", "t2"})):
        pick = decide_one(change(-520.0, "t1", "t2", front=front), "pick", cam, {"t2"}, (), view())
        assert (pick.track, pick.also, pick.confidence) == ("t1", ("t2",), 0.4)


def test_one_view_naming_a_shopper_beside_the_slot_is_unsure() -> None:
    p = change(-520.0, "t1", "t2", "t3", front=frozenset({"t1"}))
    # The ceiling alone gave the arm to t2, who stands at the next slot; t1 stands in
    # front of it: a dispute (t2 first), t1 among the candidates.
    pick = decide_one(p, "pick", None, {"t2"}, (), view())
    assert pick.track == "t2" and "t1" in pick.also and pick.confidence < 0.9
    cam = Seen(1.7, "pick", TEA, 1, 0.9, "t2")
    pick = decide_one(p, "pick", cam, set(), (), view())
    assert pick.track == "t2" and "t1" in pick.also and pick.confidence < 0.9
    # Naming the one in front: sure, as without stances; where they stand alone names
    # nobody.
    assert decide_one(p, "pick", None, {"t1"}, (), view()).confidence == 0.95
    assert decide_one(p, "pick", None, set(), (), view()).confidence == 0.4


def test_a_put_back_in_doubt_between_shoppers_is_the_one_who_holds_the_item() -> None:
    cam = Seen(1.7, "put", TEA, 1, 0.9, "t1")
    # The camera saw t1's hand, the ceiling t2's arm; only t2 holds a tea.
    put = decide_one(change(520.0, "t1", "t2"), "put", cam, {"t2"}, (), view({"t2": {TEA: 1}}))
    assert (put.track, put.confidence, put.also) == ("t2", 0.95, ())
    assert "only t2 of them holds one" in (put.evidence[0].note or "")
    # The ceiling alone named t2, beside the slot; t1 stands in front of it but holds none.
    p = change(520.0, "t1", "t2", front=frozenset({"t1"}))
    put = decide_one(p, "put", None, {"t2"}, (), view({"t2": {TEA: 1}}))
    assert (put.track, put.confidence) == ("t2", 0.95)
    # Both hold one: still in doubt.
    both = view({"t1": {TEA: 1}, "t2": {TEA: 1}})
    assert decide_one(p, "put", None, {"t2"}, (), both).confidence < 0.9
