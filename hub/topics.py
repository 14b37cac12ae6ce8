"""Topic names of the wire contract, as small frozen value types."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from devices.base import DEVICE_ID_PATTERN
from hub.errors import PayloadError

_DEVICE_RE = re.compile(DEVICE_ID_PATTERN)
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")

Channel = Literal["state", "event", "command", "reply"]


@dataclass(frozen=True, slots=True)
class DeviceTopic:
    """``store/{store}/device/{dev}/{channel}[/{name}]``."""

    store: str
    device: str
    channel: Channel
    name: str | None = None

    def __str__(self) -> str:
        base = f"store/{self.store}/device/{self.device}/{self.channel}"
        return f"{base}/{self.name}" if self.name else base

    @classmethod
    def parse(cls, topic: str, store: str) -> DeviceTopic:
        """Parse a device topic of ``store``; :class:`PayloadError` ``bad_topic`` if not one."""
        parts = topic.split("/")
        if len(parts) < 5 or parts[0] != "store" or parts[1] != store or parts[2] != "device":
            raise PayloadError("bad_topic", f"{topic!r} is not a device topic of store {store!r}")
        device, channel, rest = parts[3], parts[4], parts[5:]
        if not _DEVICE_RE.match(device):
            raise PayloadError("bad_device_id", f"{device!r} is not a valid device id")
        if channel in ("state", "reply") and not rest:
            return cls(store, device, channel)  # type: ignore[arg-type]
        if channel in ("event", "command") and len(rest) == 1 and _NAME_RE.match(rest[0]):
            return cls(store, device, channel, rest[0])  # type: ignore[arg-type]
        raise PayloadError("bad_topic", f"{topic!r} is not a contract device topic")


def device_filters(store: str) -> list[str]:
    """What the hub subscribes to for its devices (commands are its own, so not those)."""
    return [f"store/{store}/device/#"]


def hub_state(store: str) -> str:
    return f"store/{store}/hub/state"


def alert(store: str) -> str:
    return f"store/{store}/alert"


def command(store: str, device: str, name: str) -> str:
    return str(DeviceTopic(store, device, "command", name))


def device_acl(store: str, device: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(publish, subscribe) filters a device may use on the managed broker.

    Besides its commands a device may read the hub's state: a door falls back to its
    fail-safe when the hub goes offline."""
    base = f"store/{store}/device/{device}"
    publish = (f"{base}/state", f"{base}/event/#", f"{base}/reply")
    return publish, (f"{base}/command/#", hub_state(store))
