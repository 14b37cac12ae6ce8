from __future__ import annotations

from typing import Literal

from devices.base import DeviceConfig, DeviceId


class KioskConfig(DeviceConfig):
    kind: Literal["kiosk"] = "kiosk"
    #: Grams the bagging-area scale may differ from the expected weight.
    weight_tolerance_g: float = 15.0
    #: (unmanned checkout) The door this entrance kiosk opens when a ``card`` starts a session.
    entry_door: DeviceId | None = None
