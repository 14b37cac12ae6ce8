"""The contract codecs of the v1 kinds: good payloads decode, bad ones get a reason."""

from __future__ import annotations

import base64
import json

import pytest

from devices import drivers
from devices.base import Codec
from devices.door.codec import CODEC as DOOR
from devices.door.codec import Passage
from devices.kiosk.codec import CODEC as KIOSK
from devices.kiosk.codec import ScanImage
from devices.rfid_gate.codec import CODEC as GATE
from devices.rfid_gate.codec import Reads
from hub.errors import CommandError, PayloadError

JPEG = base64.b64encode(b"\xff\xd8\xff\xe0" + b"\0" * 32).decode()


def raw(obj: object) -> bytes:
    return json.dumps(obj).encode()


def test_every_v1_kind_is_discovered() -> None:
    assert {"door", "rfid_gate", "kiosk"} <= set(drivers())


@pytest.mark.parametrize(
    ("codec", "name", "payload"),
    [
        (DOOR, "passage", {"ts": 1.5, "seq": 1, "direction": "in"}),
        (DOOR, "door", {"ts": 1, "seq": 2, "open": True}),
        (DOOR, "forced", {"ts": 1.0, "seq": 3, "extra": "ignored"}),
        (
            GATE,
            "reads",
            {
                "ts": 1.0,
                "seq": 4,
                "reads": [
                    {"epc": "3074257BF7194E4000001A85", "antenna": 1, "rssi": -55.5, "ts": 0.9}
                ],
            },
        ),
        (KIOSK, "scan", {"ts": 1.0, "seq": 5, "code": "06901234567892", "symbology": "ean13"}),
        (KIOSK, "scan_image", {"ts": 1.0, "seq": 6, "jpeg_b64": JPEG}),
        (KIOSK, "weight", {"ts": 1.0, "seq": 7, "grams": 412.5}),
        (KIOSK, "help", {"ts": 1.0, "seq": 8}),
    ],
)
def test_decodes(codec: Codec, name: str, payload: dict[str, object]) -> None:
    event = codec.decode_event(name, raw(payload))
    assert event.seq == payload["seq"]
    assert event.ts == float(payload["ts"])  # type: ignore[arg-type]


def test_decoded_types() -> None:
    assert DOOR.decode_event("passage", raw({"ts": 1, "seq": 1, "direction": "out"})) == Passage(
        ts=1.0, seq=1, direction="out"
    )
    reads = GATE.decode_event("reads", raw({"ts": 1, "seq": 1, "reads": []}))
    assert isinstance(reads, Reads) and reads.reads == []
    image = KIOSK.decode_event("scan_image", raw({"ts": 1, "seq": 1, "jpeg_b64": JPEG}))
    assert isinstance(image, ScanImage) and image.jpeg().startswith(b"\xff\xd8")


@pytest.mark.parametrize(
    ("codec", "name", "payload", "reason"),
    [
        (DOOR, "passage", b"not json", "not_json"),
        (DOOR, "passage", b"[1, 2]", "not_object"),
        (DOOR, "passage", b'"text"', "not_object"),
        (DOOR, "passage", raw({"ts": 1, "direction": "in"}), "invalid"),
        (DOOR, "passage", raw({"ts": 1, "seq": 1}), "invalid"),
        (DOOR, "passage", raw({"ts": 1, "seq": 1, "direction": "sideways"}), "invalid"),
        (DOOR, "passage", raw({"ts": "now", "seq": 1, "direction": "in"}), "invalid"),
        (DOOR, "passage", raw({"ts": 1, "seq": "1", "direction": "in"}), "invalid"),
        (DOOR, "passage", raw({"ts": 1, "seq": -1, "direction": "in"}), "invalid"),
        (DOOR, "door", raw({"ts": 1, "seq": 1, "open": "yes"}), "invalid"),
        (DOOR, "teleport", raw({"ts": 1, "seq": 1}), "unknown_event"),
        (
            GATE,
            "reads",
            raw({"ts": 1, "seq": 1, "reads": [{"epc": "zz", "antenna": 1, "rssi": 0, "ts": 1}]}),
            "invalid",
        ),
        (GATE, "reads", raw({"ts": 1, "seq": 1, "reads": {}}), "invalid"),
        (KIOSK, "scan_image", raw({"ts": 1, "seq": 1, "jpeg_b64": "!!!!"}), "invalid"),
        (
            KIOSK,
            "scan_image",
            raw({"ts": 1, "seq": 1, "jpeg_b64": base64.b64encode(b"GIF89a....").decode()}),
            "invalid",
        ),
        (
            KIOSK,
            "scan",
            raw({"ts": 1, "seq": 1, "code": "x" * 70_000, "symbology": "q"}),
            "too_large",
        ),
        (
            KIOSK,
            "scan_image",
            raw({"ts": 1, "seq": 1, "jpeg_b64": "A" * (1024 * 1024)}),
            "too_large",
        ),
    ],
)
def test_rejects_with_reason(codec: Codec, name: str, payload: bytes, reason: str) -> None:
    with pytest.raises(PayloadError) as info:
        codec.decode_event(name, payload)
    assert info.value.reason == reason
    assert str(info.value)


def test_image_topic_allows_up_to_one_mib() -> None:
    big = JPEG + "A" * (200 * 1024)
    assert KIOSK.decode_event("scan_image", raw({"ts": 1, "seq": 1, "jpeg_b64": big}))


def test_commands_encode_contract_envelope() -> None:
    args = DOOR.build_command("open", {"seconds": 7, "session": "abc"})
    body = json.loads(DOOR.encode_command(args, id="c1", ts=10.0, expires=20.0))
    assert body == {"id": "c1", "ts": 10.0, "expires": 20.0, "seconds": 7, "session": "abc"}
    alarm = json.loads(
        GATE.encode_command(
            GATE.build_command("alarm", {"pattern": "theft", "seconds": 3}),
            id="a",
            ts=1.0,
            expires=2.0,
        )
    )
    assert alarm["pattern"] == "theft" and alarm["seconds"] == 3


@pytest.mark.parametrize(
    ("codec", "name", "args", "match"),
    [
        (DOOR, "explode", {}, "unknown command 'explode'"),
        (DOOR, "open", {"seconds": 0}, "seconds"),
        (DOOR, "open", {"colour": "red"}, "colour"),
        (DOOR, "release", {}, "reason"),
        (GATE, "alarm", {"pattern": "disco"}, "pattern"),
    ],
)
def test_bad_commands(codec: Codec, name: str, args: dict[str, object], match: str) -> None:
    with pytest.raises(CommandError, match=match):
        codec.build_command(name, args)
