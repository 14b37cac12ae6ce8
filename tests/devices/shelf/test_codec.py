"""devices.shelf.codec: weight, action and people events; identify and tare commands."""

from __future__ import annotations

import json

import pytest

from devices import drivers
from devices.shelf.codec import CODEC, Action, Hand, Identify, People, Tare, Weight
from devices.shelf.config import ShelfConfig
from hub.errors import CommandError, PayloadError

ACTION = {
    "ts": 1.0,
    "seq": 3,
    "slot": "A1",
    "action": "pick",
    "gtin": "06901234567892",
    "count": 2,
    "confidence": 0.9,
    "track": "t-17",
}


def raw(obj: object) -> bytes:
    return json.dumps(obj).encode()


def test_discovered_as_a_kind() -> None:
    assert drivers()["shelf"].codec is CODEC
    assert drivers()["shelf"].config_model is ShelfConfig


@pytest.mark.parametrize(
    ("name", "payload", "expected"),
    [
        (
            "weight",
            {"ts": 1, "seq": 1, "slot": "A1", "grams": 4160},
            Weight(ts=1.0, seq=1, slot="A1", grams=4160.0),
        ),
        (
            "weight",
            {"ts": 1, "seq": 2, "slot": "b_2-x", "grams": -1.5, "unit": "g"},
            Weight(ts=1.0, seq=2, slot="b_2-x", grams=-1.5),
        ),
        (
            "action",
            ACTION,
            Action(
                ts=1.0,
                seq=3,
                slot="A1",
                action="pick",
                gtin="06901234567892",
                count=2,
                confidence=0.9,
                track="t-17",
            ),
        ),
        (
            "action",
            {**ACTION, "action": "put", "gtin": None, "track": None, "count": 50, "confidence": 0},
            Action(ts=1.0, seq=3, slot="A1", action="put", gtin=None, count=50, confidence=0.0),
        ),
        (
            "people",
            {"ts": 1, "seq": 4, "tracks": ["t-1", "t-2"]},
            People(ts=1.0, seq=4, tracks=["t-1", "t-2"]),
        ),
        ("people", {"ts": 1, "seq": 5, "tracks": []}, People(ts=1.0, seq=5, tracks=[])),
        (
            "people",
            {"ts": 1, "seq": 6, "tracks": ["t-1", "t-2"], "reach": {"t-1": ["A1", "A2"]}},
            People(ts=1.0, seq=6, tracks=["t-1", "t-2"], reach={"t-1": ["A1", "A2"]}),
        ),
        (
            "people",
            {
                "ts": 1,
                "seq": 6,
                "tracks": ["t-1", "t-2"],
                "reach": {"t-1": ["A1", "A2"]},
                "front": {"t-1": "A1", "t-2": "B3"},
            },
            People(
                ts=1.0,
                seq=6,
                tracks=["t-1", "t-2"],
                reach={"t-1": ["A1", "A2"]},
                front={"t-1": "A1", "t-2": "B3"},
            ),
        ),
        (
            "hand",
            {"ts": 1, "seq": 7, "slot": "A2", "track": "t-2"},
            Hand(ts=1.0, seq=7, slot="A2", track="t-2"),
        ),
    ],
)
def test_decodes(name: str, payload: dict[str, object], expected: object) -> None:
    assert CODEC.decode_event(name, raw(payload)) == expected


@pytest.mark.parametrize("gtin", ["6901234567892", "06901234567892", "96385074"])
def test_action_gtin_is_normalised_to_gtin14(gtin: str) -> None:
    event = CODEC.decode_event("action", raw({**ACTION, "gtin": gtin}))
    assert isinstance(event, Action) and event.gtin is not None
    assert len(event.gtin) == 14 and event.gtin.lstrip("0") == gtin.lstrip("0")


@pytest.mark.parametrize(
    ("name", "payload"),
    [
        ("weight", {"ts": 1, "seq": 1, "slot": "A1"}),
        ("weight", {"ts": 1, "seq": 1, "slot": "A1", "grams": "12"}),
        ("weight", {"ts": 1, "seq": 1, "slot": "A 1", "grams": 12}),
        ("weight", {"ts": 1, "seq": 1, "slot": "x" * 33, "grams": 12}),
        ("weight", {"ts": 1, "seq": 1, "slot": 7, "grams": 12}),
        ("action", {**ACTION, "action": "grab"}),
        ("action", {**ACTION, "count": 0}),
        ("action", {**ACTION, "count": 51}),
        ("action", {**ACTION, "count": 1.5}),
        ("action", {**ACTION, "confidence": 1.01}),
        ("action", {**ACTION, "confidence": -0.1}),
        ("action", {**ACTION, "gtin": "6901234567891"}),
        ("action", {**ACTION, "gtin": "69012345"}),
        ("action", {**ACTION, "track": ""}),
        ("action", {key: v for key, v in ACTION.items() if key != "count"}),
        ("people", {"ts": 1, "seq": 1}),
        ("people", {"ts": 1, "seq": 1, "tracks": "t-1"}),
        ("people", {"ts": 1, "seq": 1, "tracks": [f"t{i}" for i in range(51)]}),
        ("people", {"ts": 1, "seq": 1, "tracks": ["t-1"], "reach": {"t-2": ["A1"]}}),
        ("people", {"ts": 1, "seq": 1, "tracks": ["t-1"], "reach": {"t-1": ["A 1"]}}),
        ("people", {"ts": 1, "seq": 1, "tracks": ["t-1"], "reach": {"t-1": "A1"}}),
        ("people", {"ts": 1, "seq": 1, "tracks": ["t-1"], "front": {"t-2": "A1"}}),
        ("people", {"ts": 1, "seq": 1, "tracks": ["t-1"], "front": {"t-1": ["A1"]}}),
        ("people", {"ts": 1, "seq": 1, "tracks": ["t-1"], "front": {"t-1": "A 1"}}),
        # (standing in front of a slot it cannot reach)
        (
            "people",
            {
                "ts": 1,
                "seq": 1,
                "tracks": ["t-1"],
                "reach": {"t-1": ["A1"]},
                "front": {"t-1": "A2"},
            },
        ),
        ("hand", {"ts": 1, "seq": 1, "slot": "A1"}),
        ("hand", {"ts": 1, "seq": 1, "track": "t-1"}),
        ("hand", {"ts": 1, "seq": 1, "slot": "A1", "track": ""}),
        ("hand", {"ts": 1, "seq": 1, "slot": "A 1", "track": "t-1"}),
        ("hand", {"ts": 1, "seq": 1, "slot": "A1", "track": None}),
    ],
)
def test_rejects_invalid(name: str, payload: dict[str, object]) -> None:
    with pytest.raises(PayloadError) as info:
        CODEC.decode_event(name, raw(payload))
    assert info.value.reason == "invalid"


def test_rejects_an_unknown_event_and_a_non_finite_weight() -> None:
    with pytest.raises(PayloadError) as info:
        CODEC.decode_event("restock", raw({"ts": 1, "seq": 1}))
    assert info.value.reason == "unknown_event"
    for grams in (b"NaN", b"Infinity", b"1e999"):
        body = b'{"ts": 1, "seq": 1, "slot": "A1", "grams": ' + grams + b"}"
        with pytest.raises(PayloadError, match="finite") as info:
            CODEC.decode_event("weight", body)
        assert info.value.reason == "invalid"


def test_commands() -> None:
    assert CODEC.build_command("identify", {}) == Identify(seconds=10)
    assert CODEC.build_command("identify", {"seconds": 300}) == Identify(seconds=300)
    assert CODEC.build_command("tare", {"slot": "A1"}) == Tare(slot="A1")
    bad: list[tuple[str, dict[str, object], str]] = [
        ("identify", {"seconds": 0}, "seconds"),
        ("identify", {"seconds": 301}, "seconds"),
        ("tare", {}, "slot"),
        ("tare", {"slot": "A/1"}, "slot"),
        ("restock", {}, "unknown command 'restock'"),
    ]
    for name, args, match in bad:
        with pytest.raises(CommandError, match=match):
            CODEC.build_command(name, args)
    body = json.loads(CODEC.encode_command(Tare(slot="B2"), id="c1", ts=1.0, expires=2.0))
    assert body == {"id": "c1", "ts": 1.0, "expires": 2.0, "slot": "B2"}


def test_no_event_goes_to_a_cloud_stream() -> None:
    assert CODEC.streams == {}
