"""Device registry: the configured devices, their drivers and their presence.

Config is the source of truth for *which* devices exist; the ``devices`` table
mirrors it (so the CLI and API can read it without the config) and keeps what
the hub learnt: online/offline, since when, last seen, model and firmware.
Presence changes are also appended to ``presence`` (the history).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from devices import drivers
from devices.base import DeviceConfig, Driver
from hub.journal import Journal


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
        kinds = drivers()
        self._devices: dict[str, Device] = {
            c.id: Device(config=c, driver=kinds[c.kind](c)) for c in configs
        }
        self._dirty_seen: set[str] = set()

    def __iter__(self) -> Iterator[Device]:
        return iter(self._devices.values())

    def __len__(self) -> int:
        return len(self._devices)

    def get(self, device_id: str) -> Device | None:
        return self._devices.get(device_id)

    async def load(self) -> None:
        """Mirror the config into SQLite and pick up what was known of each device."""
        rows = await self._journal.call(self._sync)
        for row in rows:
            dev = self._devices.get(row[0])
            if dev is not None:
                dev.online = None if row[1] is None else bool(row[1])
                dev.since, dev.last_seen, dev.model, dev.fw = row[2], row[3], row[4], row[5]

    def _sync(self, conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
        conn.execute("UPDATE devices SET removed = 1")
        for d in self._devices.values():
            c = d.config
            conn.execute(
                "INSERT INTO devices(id, kind, zone, role, name, may_sleep, config, removed)"
                " VALUES (?,?,?,?,?,?,?,0) ON CONFLICT(id) DO UPDATE SET kind=excluded.kind,"
                " zone=excluded.zone, role=excluded.role, name=excluded.name,"
                " may_sleep=excluded.may_sleep, config=excluded.config, removed=0",
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
        return conn.execute(
            "SELECT id, online, since, last_seen, model, fw FROM devices WHERE removed = 0"
        ).fetchall()

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
