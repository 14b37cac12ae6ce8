"""What a rule sees while it is evaluated: its context variables and a read-only
view of the store (presence, stock, flags, the clock in the store's timezone).

Everything here is in memory and synchronous: conditions never do I/O, so a
rule's evaluation cannot block the event loop or fail on the network.
"""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any, Protocol, TypeVar
from zoneinfo import ZoneInfo

from hub.inventory import StockLevel

S = TypeVar("S")


class _Missing:
    """A name or field that is not in the context."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "missing"


MISSING: Any = _Missing()


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    id: str
    kind: str
    zone: str | None = None
    role: str | None = None
    may_sleep: bool = False


class StoreView(Protocol):
    """Read-only store state for conditions (the engine adapts the hub to it)."""

    @property
    def tz(self) -> tzinfo: ...

    def now(self) -> float: ...

    def device(self, device_id: str) -> DeviceInfo | None: ...

    def devices(self) -> Iterable[DeviceInfo]: ...

    def online(self, device_id: str) -> bool | None: ...

    def stock(self, item: str, zone: str) -> StockLevel | None: ...

    def flag(self, name: str) -> Any: ...

    def service(self, cls: type[S]) -> S | None: ...


@dataclass(slots=True)
class Scope:
    """One evaluation: the context variables of the occurrence and the store."""

    vars: dict[str, Any]
    store: StoreView

    def local_time(self) -> datetime:
        return datetime.fromtimestamp(self.store.now(), self.store.tz)


def select_devices(
    store: StoreView, pattern: str, *, kind: str | None = None, zone: str | None = None
) -> list[str]:
    """Ids of the devices matching a glob pattern (``door-*``, ``*``) and kind/zone."""
    found = []
    for d in store.devices():
        if kind is not None and d.kind != kind:
            continue
        if zone is not None and d.zone != zone:
            continue
        if d.id == pattern or fnmatch.fnmatchcase(d.id, pattern):
            found.append(d.id)
    return sorted(found)


@dataclass
class MemoryStore:
    """A :class:`StoreView` held in plain dicts: the dry run and the tests use it."""

    known: dict[str, DeviceInfo] = field(default_factory=dict)
    presence: dict[str, bool] = field(default_factory=dict)
    levels: dict[tuple[str, str], StockLevel] = field(default_factory=dict)
    flags: dict[str, Any] = field(default_factory=dict)
    services: dict[type, object] = field(default_factory=dict)
    clock: Callable[[], float] = time.time
    timezone: tzinfo = field(default_factory=lambda: ZoneInfo("UTC"))

    @property
    def tz(self) -> tzinfo:
        return self.timezone

    def now(self) -> float:
        return self.clock()

    def device(self, device_id: str) -> DeviceInfo | None:
        return self.known.get(device_id)

    def devices(self) -> Iterable[DeviceInfo]:
        return self.known.values()

    def online(self, device_id: str) -> bool | None:
        return self.presence.get(device_id)

    def stock(self, item: str, zone: str) -> StockLevel | None:
        return self.levels.get((item, zone))

    def flag(self, name: str) -> Any:
        return self.flags.get(name)

    def service(self, cls: type[S]) -> S | None:
        found = self.services.get(cls)
        return found if isinstance(found, cls) else None

    def add(self, *devices: DeviceInfo) -> MemoryStore:
        for d in devices:
            self.known[d.id] = d
        return self
