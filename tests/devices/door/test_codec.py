"""devices.door.codec: the hub's additions — passage session/track, credential, request."""

from __future__ import annotations

import json

import pytest

from devices.door.codec import CODEC, Credential, Passage, Request
from hub.errors import PayloadError


def raw(obj: object) -> bytes:
    return json.dumps(obj).encode()


def test_a_v1_passage_still_decodes_without_the_new_fields() -> None:
    event = CODEC.decode_event("passage", raw({"ts": 1, "seq": 1, "direction": "in"}))
    assert event == Passage(ts=1.0, seq=1, direction="in", session=None, track=None)


def test_passage_carries_session_and_track() -> None:
    body = {"ts": 1, "seq": 2, "direction": "out", "session": "sess-9", "track": "t-4"}
    event = CODEC.decode_event("passage", raw(body))
    assert isinstance(event, Passage) and (event.session, event.track) == ("sess-9", "t-4")
    nulls = CODEC.decode_event("passage", raw({**body, "session": None, "track": None}))
    assert isinstance(nulls, Passage) and nulls.session is None and nulls.track is None


@pytest.mark.parametrize(
    ("name", "payload", "expected"),
    [
        (
            "credential",
            {"ts": 1, "seq": 1, "method": "qr", "value": "eyJhbGciOi"},
            Credential(ts=1.0, seq=1, method="qr", value="eyJhbGciOi"),
        ),
        (
            "credential",
            {"ts": 1, "seq": 2, "method": "card", "value": "x" * 4096},
            Credential(ts=1.0, seq=2, method="card", value="x" * 4096),
        ),
        (
            "request",
            {"ts": 1, "seq": 3, "session": "sess-1", "track": "t-2"},
            Request(ts=1.0, seq=3, session="sess-1", track="t-2"),
        ),
        ("request", {"ts": 1, "seq": 4, "session": None, "track": None}, Request(ts=1.0, seq=4)),
        ("request", {"ts": 1, "seq": 5}, Request(ts=1.0, seq=5)),
    ],
)
def test_new_events_decode(name: str, payload: dict[str, object], expected: object) -> None:
    assert CODEC.decode_event(name, raw(payload)) == expected


@pytest.mark.parametrize(
    ("name", "payload"),
    [
        ("passage", {"ts": 1, "seq": 1, "direction": "in", "session": 5}),
        ("passage", {"ts": 1, "seq": 1, "direction": "in", "track": ""}),
        ("passage", {"ts": 1, "seq": 1, "direction": "in", "track": "t" * 129}),
        ("credential", {"ts": 1, "seq": 1, "method": "nfc", "value": "abc"}),
        ("credential", {"ts": 1, "seq": 1, "method": "qr", "value": ""}),
        ("credential", {"ts": 1, "seq": 1, "method": "qr", "value": "x" * 4097}),
        ("credential", {"ts": 1, "seq": 1, "method": "qr"}),
        ("request", {"ts": 1, "seq": 1, "session": ["a"]}),
        ("request", {"ts": 1, "seq": 1, "track": 7}),
    ],
)
def test_rejects_invalid(name: str, payload: dict[str, object]) -> None:
    with pytest.raises(PayloadError) as info:
        CODEC.decode_event(name, raw(payload))
    assert info.value.reason == "invalid"


def test_streams_are_unchanged() -> None:
    assert CODEC.streams == {"passage": "traffic", "forced": "security"}
    assert set(CODEC.events) == {"passage", "door", "forced", "credential", "request"}
    assert set(CODEC.commands) == {"open", "lock", "release"}
