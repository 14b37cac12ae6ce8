"""Device registry: the configured devices, their drivers and their presence.

The store file is the source of truth for *which* devices exist, plus the devices HQ
provisioned through cloud sync (``source = 'cloud'`` rows, written by the inbox's
``device`` applier, docs/sync.md); a store-file device always wins over a provisioned
one of the same id.  The ``devices`` table mirrors both (so the CLI and API can read
it without the config) and keeps what the hub learnt: online/offline, since when, last
seen, model and firmware.  Presence changes are also appended to ``presence`` (the
history).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from devices import drivers
from devices.base import DeviceConfig, Driver, first_error
from hub.config import device_adapter
from hub.journal import Journal

log = logging.getLogger("storehub.registry")


@dataclass(slots=True)
class Device:
    config: DeviceConfig
    driver: Driver[Any]
    online: bool | None = None
    since: float | None = None
    last_seen: float | None = None
    model: str | None = None
    fw: str | None = None

    @property
    def id(self) -> str:
        return self.config.id

    @property
    def kind(self) -> str:
        return self.config.kind

    @property
    def zone(self) -> str | None:
        return self.config.zone


class Registry:
    def __init__(
        self,
        configs: list[DeviceConfig],
        journal: Journal,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._journal = journal
        self._clock = clock
        self._devices: dict[str, Device] = {c.id: _device(c) for c in configs}
        #: Ids the store file defines: never replaced or removed by provisioning.
        self.configured = frozenset(self._devices)
        self._dirty_seen: set[str] = set()

    def __iter__(self) -> Iterator[Device]:
        return iter(self._devices.values())

    def __len__(self) -> int:
        return len(self._devices)

    def get(self, device_id: str) -> Device | None:
        return self._devices.get(device_id)

    def put(self, config: DeviceConfig) -> tuple[Device, Device | None]:
        """Add or replace a provisioned device: (the new one, the one it replaces).  What
        the hub learnt of it (presence, model, firmware) carries over to the new driver."""
        if config.id in self.configured:
            raise ValueError(f"device {config.id!r} is managed by the store file")
        old = self._devices.get(config.id)
        new = _device(config)
        if old is not None:
            new.online, new.since, new.last_seen = old.online, old.since, old.last_seen
            new.model, new.fw = old.model, old.fw
        self._devices[config.id] = new
        return new, old

    def remove(self, device_id: str) -> Device | None:
        """Forget a provisioned device (a store-file device stays)."""
        if device_id in self.configured:
            raise ValueError(f"device {device_id!r} is managed by the store file")
        return self._devices.pop(device_id, None)

    def provisioned(self) -> list[Device]:
        return [d for d in self._devices.values() if d.id not in self.configured]

    async def load(self) -> None:
        """Mirror the config into SQLite, add the provisioned devices, and pick up what was
        known of each device."""
        rows, cloud = await self._journal.call(self._sync)
        for config in cloud:
            self._devices[config.id] = _device(config)
        for row in rows:
            dev = self._devices.get(row[0])
            if dev is not None:
                dev.online = None if row[1] is None else bool(row[1])
                dev.since, dev.last_seen, dev.model, dev.fw = row[2], row[3], row[4], row[5]

    def _sync(self, conn: sqlite3.Connection) -> tuple[list[tuple[Any, ...]], list[DeviceConfig]]:
        conn.execute("UPDATE devices SET removed = 1 WHERE source = 'config'")
        for d in self._devices.values():
            c = d.config
            # A provisioned device the store file now defines becomes the file's.
            conn.execute(
                "INSERT INTO devices(id, kind, zone, role, name, may_sleep, config, removed,"
                " source) VALUES (?,?,?,?,?,?,?,0,'config') ON CONFLICT(id) DO UPDATE SET"
                " kind=excluded.kind, zone=excluded.zone, role=excluded.role,"
                " name=excluded.name, may_sleep=excluded.may_sleep, config=excluded.config,"
                " removed=0, source='config'",
                (
                    c.id,
                    c.kind,
                    c.zone,
                    c.role,
                    c.name,
                    int(c.may_sleep),
                    c.model_dump_json(exclude={"password"}),
                ),
            )
        cloud = [c for c in provisioned_configs(conn) if c.id not in self._devices]
        rows = conn.execute(
            "SELECT id, online, since, last_seen, model, fw FROM devices WHERE removed = 0"
        ).fetchall()
        return rows, cloud

    def seen(self, device: Device, ts: float | None = None) -> None:
        device.last_seen = ts if ts is not None else self._clock()
        self._dirty_seen.add(device.id)

    async def flush_seen(self) -> None:
        """Write the batched ``last_seen`` updates (called periodically)."""
        if not self._dirty_seen:
            return
        rows = [(self._devices[d].last_seen, d) for d in self._dirty_seen if d in self._devices]
        self._dirty_seen.clear()

        def write(conn: sqlite3.Connection) -> None:
            conn.executemany("UPDATE devices SET last_seen = ? WHERE id = ?", rows)

        await self._journal.call(write)

    async def set_presence(
        self,
        device: Device,
        online: bool,
        reason: str,
        *,
        model: str | None = None,
        fw: str | None = None,
    ) -> bool:
        """Record presence; returns whether it changed."""
        now = self._clock()
        changed = device.online is not online
        device.online = online
        device.last_seen = now
        if model is not None:
            device.model = model
        if fw is not None:
            device.fw = fw
        if changed:
            device.since = now
        values = (int(online), device.since, now, device.model, device.fw, device.id)

        def write(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE devices SET online=?, since=?, last_seen=?, model=?, fw=? WHERE id=?",
                values,
            )
            if changed:
                conn.execute(
                    "INSERT INTO presence(device, ts, online, reason) VALUES (?,?,?,?)",
                    (device.id, now, int(online), reason),
                )

        await self._journal.call(write)
        return changed

    def summary(self, device: Device) -> dict[str, Any]:
        return {
            "id": device.id,
            "kind": device.kind,
            "zone": device.zone,
            "role": device.config.role,
            "online": device.online,
            "since": device.since,
            "last_seen": device.last_seen,
            "model": device.model,
            "fw": device.fw,
            "config": json.loads(device.config.model_dump_json(exclude={"password"})),
        }


def _device(config: DeviceConfig) -> Device:
    return Device(config=config, driver=drivers()[config.kind](config))


def parse_device(raw: Any) -> DeviceConfig:
    """One device entry validated against its kind's model; pydantic's ``ValidationError``."""
    return device_adapter().validate_python(raw)


def provisioned_configs(conn: sqlite3.Connection) -> list[DeviceConfig]:
    """The devices HQ provisioned (``source = 'cloud'``) that are in force, by id.

    A row that no longer validates (its kind's driver was uninstalled, its model grew a
    required field) is logged and left out: the hub starts without that device."""
    out: list[DeviceConfig] = []
    for device_id, text in conn.execute(
        "SELECT id, config FROM devices WHERE source = 'cloud' AND removed = 0 ORDER BY id"
    ):
        try:
            out.append(parse_device(json.loads(text)))
        except (ValidationError, ValueError) as exc:
            reason = first_error(exc) if isinstance(exc, ValidationError) else str(exc)
            log.error("provisioned device %s is not loaded: %s", device_id, reason)
    return out
