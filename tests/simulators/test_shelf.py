"""simulators.shelf: slot scales, camera actions and shopper tracks on the wire; tare, identify."""

from __future__ import annotations

import random

import pytest

from devices.shelf.codec import CODEC, Action, Hand, People, Weight
from devices.shelf.config import ShelfConfig
from hub.errors import PayloadError
from simulators.base import SimEndpoint, SimulatorError
from simulators.catalog import PRODUCTS
from simulators.registry import simulator_class
from simulators.shelf import START_UNITS, UNKNOWN_UNIT_G, ShelfSimulator, unit_grams
from tests.simulators.conftest import STORE, Broker, Seen, Watcher, wait_reply

TEA, CRACKERS = PRODUCTS[0], PRODUCTS[1]
#: A2 holds an item that is not a demo product (its unit weight is unknown to the simulator).
SHELF = ShelfConfig(
    id="shelf-1",
    slots={"A1": TEA.gtin, "A2": "96385074", "B1": CRACKERS.gtin},
    noise_g=2.0,
    settle_s=0.0,
)
ENDPOINT = SimEndpoint("127.0.0.1", 1)


def events(w: Watcher) -> list[Seen]:
    return [m for m in w.messages if "shelf-1/event/" in m.topic]


def decode(m: Seen) -> object:
    return CODEC.decode_event(m.topic.rsplit("/", 1)[1], m.payload)


def test_is_the_shelf_kinds_simulator_and_starts_stocked() -> None:
    assert simulator_class("shelf") is ShelfSimulator
    sim = ShelfSimulator(SHELF, STORE, ENDPOINT)
    assert sim.units == {"A1": START_UNITS, "A2": START_UNITS, "B1": START_UNITS}
    assert sim.grams == {
        "A1": START_UNITS * TEA.grams,
        "A2": START_UNITS * UNKNOWN_UNIT_G,
        "B1": START_UNITS * CRACKERS.grams,
    }


async def test_weight_action_and_people_go_out_as_given(broker: Broker, watcher: Watcher) -> None:
    async with ShelfSimulator(SHELF, STORE, broker.endpoint) as shelf:
        await shelf.weight("A1", 3640.5)
        await shelf.action("A1", "pick", "6901234567892", 2, 0.8, "t-1")
        await shelf.action("A2", "put", None)
        await shelf.people(["t-1", "t-2"])
        await shelf.people([])
        await watcher.wait_for(lambda ms: len(events(watcher)) == 5)
    weight, pick, put, people, nobody = (decode(m) for m in events(watcher))
    assert isinstance(weight, Weight) and (weight.slot, weight.grams) == ("A1", 3640.5)
    assert isinstance(pick, Action)
    assert (pick.slot, pick.action, pick.gtin, pick.count, pick.confidence, pick.track) == (
        "A1",
        "pick",
        "06901234567892",
        2,
        0.8,
        "t-1",
    )
    assert isinstance(put, Action) and (put.gtin, put.count, put.track) == (None, 1, None)
    assert isinstance(people, People) and people.tracks == ["t-1", "t-2"]
    assert isinstance(nobody, People) and nobody.tracks == []
    assert shelf.grams["A1"] == START_UNITS * TEA.grams  # a reading, not the load

    assert shelf.units["A1"] == START_UNITS and shelf.tracks == []


async def test_what_the_codec_or_the_planogram_refuses_is_not_sent(broker: Broker) -> None:
    async with ShelfSimulator(SHELF, STORE, broker.endpoint) as shelf:
        with pytest.raises(SimulatorError, match="no slot 'Z9'"):
            await shelf.weight("Z9", 1.0)
        with pytest.raises(SimulatorError, match="not valid"):
            await shelf.action("A1", "pick", "6901234567891")
        with pytest.raises(SimulatorError, match="not valid"):
            await shelf.people([f"t{i}" for i in range(51)])
        with pytest.raises(SimulatorError, match="holds 8"):
            await shelf.hand("A1", "pick", 9)
        assert shelf.events_sent == 0 and shelf.units["A1"] == START_UNITS


async def test_a_hand_is_an_action_then_the_settled_noisy_weight(
    broker: Broker, watcher: Watcher
) -> None:
    async with ShelfSimulator(SHELF, STORE, broker.endpoint, seed=5) as shelf:
        start = shelf.grams["A1"]
        seen, settled = await shelf.hand("A1", "pick", 2, track="t-9", confidence=0.7)
        assert settled == seen + 1
        assert shelf.units["A1"] == START_UNITS - 2
        assert shelf.grams["A1"] == pytest.approx(start - 2 * TEA.grams)
        await shelf.hand("B1", "put", recognised=False)
        await watcher.wait_for(lambda ms: len(events(watcher)) == 4)
    action, weight, put, put_weight = (decode(m) for m in events(watcher))
    assert isinstance(action, Action) and isinstance(weight, Weight)
    assert (action.slot, action.action, action.gtin, action.count, action.track) == (
        "A1",
        "pick",
        TEA.gtin,
        2,
        "t-9",
    )
    assert weight.slot == "A1" and weight.grams != start - 2 * TEA.grams  # the scale's noise
    assert abs(weight.grams - (start - 2 * TEA.grams)) < 5 * SHELF.noise_g
    assert isinstance(put, Action) and put.gtin is None and put.action == "put"
    assert isinstance(put_weight, Weight) and put_weight.slot == "B1"
    assert abs(put_weight.grams - (START_UNITS + 1) * CRACKERS.grams) < 5 * SHELF.noise_g


async def test_noise_does_not_add_up(broker: Broker) -> None:
    shelf = ShelfSimulator(SHELF, STORE, broker.endpoint, seed=1)
    async with shelf:
        for _ in range(40):
            await shelf.hand("A1", "put")
            await shelf.hand("A1", "pick")
    assert shelf.grams["A1"] == pytest.approx(START_UNITS * TEA.grams)


async def test_tare_zeroes_a_slot_and_identify_is_kept(broker: Broker, watcher: Watcher) -> None:
    async with ShelfSimulator(SHELF, STORE, broker.endpoint) as shelf:
        await watcher.command("shelf-1", "tare", id="t1", slot="B1")
        assert await wait_reply(watcher, "shelf-1", "t1") == {
            "id": "t1",
            "ok": True,
            "error": None,
            "slot": "B1",
        }
        await watcher.command("shelf-1", "tare", id="t2", slot="Q7")
        assert (await wait_reply(watcher, "shelf-1", "t2"))["error"] == "unknown slot 'Q7'"
        await watcher.command("shelf-1", "tare", id="t3", slot="B/1")
        assert (await wait_reply(watcher, "shelf-1", "t3"))["ok"] is False
        await watcher.command("shelf-1", "identify", id="i1", seconds=30)
        assert (await wait_reply(watcher, "shelf-1", "i1"))["ok"] is True
        assert shelf.identify_seconds == 30 and shelf.grams["B1"] == 0.0
        await shelf.hand("B1", "pick")
    tare, _, after = (decode(m) for m in events(watcher))
    assert isinstance(tare, Weight) and (tare.slot, tare.grams) == ("B1", 0.0)
    assert isinstance(after, Weight) and after.grams < 0  # picked from a tared scale


async def test_random_actions_are_valid_shelf_events(broker: Broker, watcher: Watcher) -> None:
    rng = random.Random(11)
    async with ShelfSimulator(SHELF, STORE, broker.endpoint, seed=11) as shelf:
        for _ in range(60):
            await shelf.random_action(rng)
        sent = shelf.events_sent
        await watcher.wait_for(lambda ms: len(events(watcher)) == sent)
    decoded = [decode(m) for m in events(watcher)]
    assert {type(e) for e in decoded} == {Weight, Action, People, Hand}
    for i, event in enumerate(decoded):
        if isinstance(event, Action):  # a hand: the camera, then that slot's scale
            after = decoded[i + 1]
            assert isinstance(after, Weight) and after.slot == event.slot
            assert event.track is None or event.track in tracks_before(decoded[:i])
        if isinstance(event, Hand):  # the ceiling saw the arm go in just before
            assert event.track in tracks_before(decoded[:i])
            camera = decoded[i + 1]
            assert isinstance(camera, Action) and camera.slot == event.slot
    for slot, gtin in SHELF.slots.items():
        assert shelf.units[slot] >= 0
        assert shelf.grams[slot] == pytest.approx(shelf.units[slot] * unit_grams(gtin))


def tracks_before(decoded: list[object]) -> list[str]:
    people = [e for e in decoded if isinstance(e, People)]
    return people[-1].tracks if people else []


@pytest.mark.parametrize("event", ["weight", "action", "people", "hand"])
def test_sample_fields_are_valid(event: str) -> None:
    sim = ShelfSimulator(SHELF, STORE, ENDPOINT)
    body = {"ts": 1.0, "seq": 1, **sim.sample_fields(event)}
    assert sim.encode_event(event, body)
    with pytest.raises(PayloadError):
        CODEC.decode_event(event, b'{"ts": 1.0, "seq": 1}')


async def test_people_tell_the_slots_each_track_can_reach(broker: Broker, watcher: Watcher) -> None:
    async with ShelfSimulator(SHELF, STORE, broker.endpoint) as shelf:
        assert shelf.within_reach("A1") == ["A1", "A2"]
        assert shelf.within_reach("A2") == ["A1", "A2", "B1"]
        await shelf.people(["t-1", "t-2"], {"t-1": shelf.within_reach("B1")})
        await shelf.people(["t-1", "t-2"], None, {"t-1": "B1", "t-2": "A1"})
        with pytest.raises(SimulatorError):  # (in front of a slot out of its reach)
            await shelf.people(["t-1"], {"t-1": ["A1"]}, {"t-1": "B1"})
        await watcher.wait_for(lambda ms: len(events(watcher)) == 2)
    [people, stance] = (decode(m) for m in events(watcher))
    assert isinstance(people, People) and people.reach == {"t-1": ["A2", "B1"]}
    assert not people.front
    assert isinstance(stance, People) and stance.front == {"t-1": "B1", "t-2": "A1"}


async def test_the_overhead_tracking_reports_whose_hand_went_into_a_slot(
    broker: Broker, watcher: Watcher
) -> None:
    async with ShelfSimulator(SHELF, STORE, broker.endpoint) as shelf:
        await shelf.reached("B1", "t-2")
        with pytest.raises(SimulatorError):
            await shelf.reached("Q7", "t-2")
        await watcher.wait_for(lambda ms: len(events(watcher)) == 1)
    [hand] = (decode(m) for m in events(watcher))
    assert isinstance(hand, Hand) and (hand.slot, hand.track) == ("B1", "t-2")
