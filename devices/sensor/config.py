from __future__ import annotations

from typing import Literal

from pydantic import Field

from devices.base import DeviceConfig


class SensorConfig(DeviceConfig):
    kind: Literal["sensor"] = "sensor"
    #: What it watches; rules tell a fridge from a freezer by it (``role == 'fridge'``).
    role: Literal["fridge", "freezer", "ambient", "queue", "fire"] = "ambient"
    #: Seconds between readings; sent with the ``interval`` command.
    interval_s: int = Field(default=30, ge=1, le=3600)
