from __future__ import annotations

from devices.base import Driver as BaseDriver
from devices.door.codec import CODEC
from devices.door.config import DoorConfig


class Driver(BaseDriver[DoorConfig]):
    kind = "door"
    config_model = DoorConfig
    codec = CODEC
