from __future__ import annotations

from typing import Literal

from pydantic import Field

from devices.base import DeviceConfig
from devices.shelf.codec import Gtin, SlotId


class ShelfConfig(DeviceConfig):
    kind: Literal["shelf"] = "shelf"
    #: The planogram: slot id → GTIN-14 of the item planned there (GTIN-8/12/13 are padded).
    slots: dict[SlotId, Gtin] = Field(min_length=1)
    #: The slot scales' noise (grams): weight changes within it are not items.
    noise_g: float = Field(default=3.0, gt=0)
    #: Seconds a slot's scale takes to settle after a hand left it.
    settle_s: float = Field(default=0.3, ge=0)
