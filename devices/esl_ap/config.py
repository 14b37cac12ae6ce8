from __future__ import annotations

from typing import Literal

from pydantic import Field

from devices.base import DeviceConfig


class EslApConfig(DeviceConfig):
    """An ESL access point: a radio gateway that serves a few thousand shelf labels."""

    kind: Literal["esl_ap"] = "esl_ap"
    #: Label updates the AP can hold at once (accepted, not yet reported back).
    #: The hub never has more than this in flight to it.
    capacity: int = Field(default=200, ge=1, le=100_000)
    #: Labels per ``update`` command (also bounded by the 1 MiB topic limit).
    batch_max: int = Field(default=100, ge=1, le=1000)
    #: Seconds after which an accepted update with no result is retried.
    result_timeout_s: float = Field(default=120.0, gt=0)
