from __future__ import annotations

from typing import Literal

from devices.base import DeviceConfig


class KioskConfig(DeviceConfig):
    kind: Literal["kiosk"] = "kiosk"
    #: Grams the bagging-area scale may differ from the expected weight.
    weight_tolerance_g: float = 15.0
