"""The esl_ap kind's codec: payload validation and the image format helpers."""

from __future__ import annotations

import json

import pytest

from devices.esl_ap.codec import (
    CODEC,
    ImageError,
    decode_image,
    encode_image,
    image_hash,
    image_size,
)
from hub.errors import CommandError, PayloadError

HASH = "0" * 32


def test_checkin_and_results_decode() -> None:
    row = {
        "label": "l-1",
        "battery_mv": 2900,
        "rssi": -61.5,
        "lqi": 200,
        "hash": None,
        "next_s": 300.0,
    }
    event = CODEC.decode_event(
        "checkin", json.dumps({"ts": 1.0, "seq": 1, "labels": [row]}).encode()
    )
    assert event.labels[0].battery_mv == 2900  # type: ignore[attr-defined]
    res = {"label": "l-1", "hash": HASH, "status": "retry", "reason": "radio"}
    CODEC.decode_event("results", json.dumps({"ts": 1.0, "seq": 2, "results": [res]}).encode())
    bad = {**row, "battery_mv": "2900"}
    with pytest.raises(PayloadError) as err:
        CODEC.decode_event("checkin", json.dumps({"ts": 1, "seq": 3, "labels": [bad]}).encode())
    assert err.value.reason == "invalid"


def test_update_command_validates() -> None:
    upd = {
        "label": "l-1",
        "hash": HASH,
        "width": 296,
        "height": 128,
        "colors": "bwr",
        "image": encode_image(b"\x00" * 10),
    }
    CODEC.build_command("update", {"updates": [upd]})
    with pytest.raises(CommandError):
        CODEC.build_command("update", {"updates": [{**upd, "colors": "rgb"}]})
    with pytest.raises(CommandError):
        CODEC.build_command("led", {"label": "l-1", "seconds": 0})


def test_image_helpers_round_trip_and_refuse_bombs() -> None:
    planes = bytes(range(256)) * 37
    assert image_size(296, 128, "bwr") == 9472 and image_size(250, 122, "bw") == 3904
    for enc in ("raw", "zlib"):
        assert decode_image(encode_image(planes, enc), enc, limit=len(planes)) == planes
    assert len(image_hash(planes)) == 32
    with pytest.raises(ImageError):
        decode_image(encode_image(b"\x00" * 100_000), "zlib", limit=9472)
    with pytest.raises(ImageError):
        decode_image("not base64!", "raw", limit=10)
