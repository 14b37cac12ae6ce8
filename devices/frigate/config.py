from __future__ import annotations

from typing import Literal

from pydantic import Field

from devices.base import DeviceConfig


class FrigateConfig(DeviceConfig):
    """One Frigate NVR installation (all its cameras), read from its MQTT topics.

    Configure one ``frigate`` device per Frigate instance: the hub routes a topic to a
    single device.  Frigate must publish to the hub's broker (or bridge into it).
    """

    kind: Literal["frigate"] = "frigate"
    #: Frigate's ``mqtt.topic_prefix``.
    topic_prefix: str = Field(default="frigate", pattern=r"^[A-Za-z0-9_\-/]+$")
    #: Frigate camera names to take events from; empty = all of them.
    cameras: list[str] = Field(default_factory=list)
    #: Object labels to report as ``object_seen``; empty = all.
    labels: list[str] = Field(default_factory=list)
    #: Frigate zone → store zone; zones not named here keep Frigate's name.
    zones: dict[str, str] = Field(default_factory=dict)
    #: Tracked objects and recognitions below this score are ignored.
    min_score: float = Field(default=0.0, ge=0, le=1)
