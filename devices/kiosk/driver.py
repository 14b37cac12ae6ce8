from __future__ import annotations

from devices.base import Driver as BaseDriver
from devices.kiosk.codec import CODEC
from devices.kiosk.config import KioskConfig


class Driver(BaseDriver[KioskConfig]):
    kind = "kiosk"
    config_model = KioskConfig
    codec = CODEC
