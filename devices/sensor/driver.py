from __future__ import annotations

from devices.base import Driver as BaseDriver
from devices.sensor.codec import CODEC
from devices.sensor.config import SensorConfig


class Driver(BaseDriver[SensorConfig]):
    kind = "sensor"
    config_model = SensorConfig
    codec = CODEC
