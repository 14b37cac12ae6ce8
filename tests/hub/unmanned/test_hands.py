"""Hands in one scale change: the ceiling's arms as hands, and which hands explain it."""

from __future__ import annotations

from dataclasses import replace

from hub.unmanned.hands import Pending, Seen, arm_hands, explain, together_picks, unsure_items

TEA = "06901234567892"


def test_an_arm_is_a_hand_only_where_the_camera_saw_none_of_that_shopper() -> None:
    p = Pending("shelf-1", "a", 2.0, -1040.0, ("t1", "t2"), 0.0)
    cams = [Seen(1.70, "pick", TEA, 1, 0.9, "t1")]
    # t1's arm twice: the nearer is the camera hand's twin, the other a hand of its own.
    arms = arm_hands(p, cams, [(1.5, "t1"), (1.69, "t1"), (1.8, "t2")])
    assert [(a.ts, a.track, a.action, a.arm_only) for a in arms] == [
        (1.5, "t1", "pick", True),
        (1.8, "t2", "pick", True),
    ]


def test_the_camera_and_the_ceiling_together_explain_what_the_scale_lost() -> None:
    p = Pending("shelf-1", "a", 2.0, -1040.0, ("t1", "t2", "t3"), 0.0)
    cams = [Seen(1.6, "pick", TEA, 1, 0.9, "t1")]
    arms = arm_hands(p, cams, [(1.6, "t1"), (1.7, "t2")])
    hands = explain(p, cams, TEA, 2.0, {TEA: 520.0}.get, arms)
    assert hands is not None and [h.track for h in hands] == ["t1", "t2"]
    picks = together_picks(p, hands, TEA, lambda _t: {})
    assert [(x.track, x.confidence) for x in picks] == [("t1", 0.97), ("t2", 0.95)]
    assert explain(p, cams, TEA, 2.0, {TEA: 520.0}.get) is None  # the camera alone: no


def test_an_unrecognised_item_is_unsure_only_where_another_lying_there_adds_up() -> None:
    weights = {TEA: 520.0, "noodles": 540.0, "soy": 610.0}
    p = Pending("shelf-1", "a", 2.0, -1040.0, ("t1", "t2"), 0.0)
    cam = Seen(1.6, "pick", TEA, 1, 0.9, "t1")
    arm = Seen(1.7, "pick", None, 1, 0.95, "t2", arm_only=True)
    assert unsure_items(p, [cam, arm], TEA, ["soy"], 2.0, weights.get) == set()
    assert unsure_items(p, [cam, arm], TEA, ["noodles"], 2.0, weights.get) == {arm}
    picks = together_picks(p, (cam, arm), TEA, lambda _t: {}, unsure={arm})
    assert [x.confidence for x in picks] == [0.97, 0.6]
    # What is unsure there, not whose: no other shopper is a candidate.
    assert [x.also for x in picks] == [(), ()]
    assert "another item lying there" in (picks[1].evidence[1].note or "")


def test_an_arm_of_a_shopper_the_camera_saw_another_hand_of_may_be_anyones_in_reach() -> None:
    p = Pending("shelf-1", "a", 2.0, -1040.0, ("t1", "t2", "t3"), 0.0)
    cam = Seen(1.6, "pick", TEA, 1, 0.9, "t1")
    arm = Seen(1.9, "pick", None, 1, 0.95, "t1", arm_only=True)
    picks = together_picks(p, (cam, arm), TEA, lambda _t: {})
    assert [(x.track, x.confidence, x.also) for x in picks] == [
        ("t1", 0.97, ()),
        ("t1", 0.7, ("t2", "t3")),
    ]
    assert "maybe another's arm" in (picks[1].evidence[1].note or "")


def test_a_hand_of_a_shopper_beside_the_slot_is_unsure_where_another_stands_in_front() -> None:
    p = Pending("shelf-1", "a", 2.0, -1040.0, ("t1", "t2"), 0.0, frozenset({"t1"}))
    cam = Seen(1.6, "pick", TEA, 1, 0.9, "t1")
    arm = Seen(1.9, "pick", None, 1, 0.95, "t2", arm_only=True)
    picks = together_picks(p, (cam, arm), TEA, lambda _t: {})
    assert [(x.track, x.also) for x in picks] == [("t1", ()), ("t2", ("t1",))]
    assert picks[0].confidence == 0.97 and picks[1].confidence < 0.9
    assert "t2 stood at another slot" in (picks[1].evidence[1].note or "")
    # The camera's hand and the ceiling's arm both naming the one beside it: theirs.
    both = together_picks(p, (cam, replace(arm, arm_only=False)), TEA, lambda _t: {}, armed={"t2"})
    assert both[1].track == "t2" and both[1].confidence >= 0.9 and both[1].also == ()


def test_a_hand_beside_the_slot_is_its_shoppers_where_the_one_in_front_had_another() -> None:
    # Two hands at once: t1 (in front) took one, the camera saw t2's hand (beside the
    # slot) take the other. Were it t1's, t1 would have reached in with both hands.
    p = Pending("shelf-1", "a", 2.0, -1040.0, ("t1", "t2"), 0.0, frozenset({"t1"}))
    mine = Seen(1.6, "pick", TEA, 1, 0.9, "t1")
    beside = Seen(1.7, "pick", TEA, 1, 0.9, "t2")
    picks = together_picks(p, (mine, beside), TEA, lambda _t: {})
    assert [(x.track, x.also) for x in picks] == [("t1", ()), ("t2", ())]
    assert picks[1].confidence >= 0.9


def test_an_arm_takes_the_camera_hand_seen_without_whose_only_where_nothing_else_pairs() -> None:
    p = Pending("shelf-1", "a", 2.0, 1040.0, ("t1", "t2"), 0.0)
    unnamed = Seen(1.7, "put", "06901234561036", 1, 0.9, None)
    [one] = arm_hands(p, [unnamed], [(1.7, "t1")])
    assert (one.track, one.gtin, one.action) == ("t1", "06901234561036", "put")
    # Two arms at that moment: whose hand the camera saw is not known.
    two = arm_hands(p, [unnamed], [(1.7, "t1"), (1.75, "t2")])
    assert [(x.track, x.gtin) for x in two] == [("t1", None), ("t2", None)]
    # An arm the camera saw the hand of (t2's, named) is no rival for that hand.
    named = Seen(1.75, "put", TEA, 1, 0.9, "t2")
    [mine] = arm_hands(p, [unnamed, named], [(1.7, "t1"), (1.75, "t2")])
    assert (mine.track, mine.gtin) == ("t1", "06901234561036")
