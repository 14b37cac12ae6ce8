"""devices.kiosk.codec: the ``card`` event of an entrance kiosk."""

from __future__ import annotations

import json

import pytest

from devices.kiosk.codec import CODEC, Card
from hub.errors import PayloadError


def raw(obj: object) -> bytes:
    return json.dumps(obj).encode()


@pytest.mark.parametrize("token", ["c", "tok_9f2c41d07a3be615", "x" * 512])
def test_card_decodes(token: str) -> None:
    event = CODEC.decode_event("card", raw({"ts": 1, "seq": 1, "token": token, "pan": "ignored"}))
    assert event == Card(ts=1.0, seq=1, token=token)


@pytest.mark.parametrize("payload", [{}, {"token": ""}, {"token": "x" * 513}, {"token": 1234}])
def test_card_rejects_invalid(payload: dict[str, object]) -> None:
    with pytest.raises(PayloadError) as info:
        CODEC.decode_event("card", raw({"ts": 1, "seq": 1, **payload}))
    assert info.value.reason == "invalid"
