from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from devices.base import DeviceConfig


class DoorConfig(DeviceConfig):
    kind: Literal["door"] = "door"
    #: Which way shoppers use it; the demo store has an entry and an exit door.
    role: Literal["entry", "exit", "both"] = "both"
    #: What the door does by itself when the hub is gone: ``open`` never traps anyone.
    fail_safe: Literal["open", "locked"] = "open"
    #: Default seconds an ``open`` command keeps the door open.
    open_seconds: int = 5
    #: A two-door exit gate: the id of the vestibule (airlock) this door belongs to.
    vestibule: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,64}$")
    #: Which door of the vestibule it is: ``inner`` faces the store, ``outer`` the street.
    side: Literal["inner", "outer"] | None = Field(default=None, validate_default=True)

    @field_validator("side")
    @classmethod
    def _side_iff_vestibule(
        cls, side: Literal["inner", "outer"] | None, info: ValidationInfo
    ) -> Literal["inner", "outer"] | None:
        if "vestibule" not in info.data:
            return side  # the vestibule itself is wrong: that error is the one to show
        vestibule = info.data["vestibule"]
        if vestibule is not None and side is None:
            raise ValueError("a door of a vestibule needs side = 'inner' or 'outer'")
        if vestibule is None and side is not None:
            raise ValueError("side is only for a door of a vestibule (set vestibule)")
        return side
