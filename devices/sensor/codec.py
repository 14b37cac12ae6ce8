"""Wire payloads of the ``sensor`` kind (hub-defined, not in contract v1). Pure: no I/O."""

from __future__ import annotations

from pydantic import Field

from devices.base import Codec, CommandArgs, WirePayload


class Temperature(WirePayload):
    """A thermometer reading (fridge, freezer, shop floor)."""

    celsius: float = Field(ge=-80, le=100)


class Queue(WirePayload):
    """People waiting in the counter's area (e.g. at the self-checkouts)."""

    count: int = Field(ge=0, le=10_000)


class Fire(WirePayload):
    """The fire alarm panel: ``active`` when the alarm goes off, false when it is reset."""

    active: bool


class Interval(CommandArgs):
    """Report every ``seconds`` from now on."""

    seconds: int = Field(ge=1, le=3600)


class Identify(CommandArgs):
    """Blink the sensor's LED so staff can find it."""

    seconds: int = Field(default=10, ge=1, le=300)


CODEC = Codec(
    events={"temperature": Temperature, "queue": Queue, "fire": Fire},
    commands={"interval": Interval, "identify": Identify},
    # Cold-chain records are kept by HQ (food safety): temperatures go to the cloud.
    streams={"temperature": "cold_chain", "fire": "security"},
)
