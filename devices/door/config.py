from __future__ import annotations

from typing import Literal

from devices.base import DeviceConfig


class DoorConfig(DeviceConfig):
    kind: Literal["door"] = "door"
    #: Which way shoppers use it; the demo store has an entry and an exit door.
    role: Literal["entry", "exit", "both"] = "both"
    #: What the door does by itself when the hub is gone: ``open`` never traps anyone.
    fail_safe: Literal["open", "locked"] = "open"
    #: Default seconds an ``open`` command keeps the door open.
    open_seconds: int = 5
