"""Store state flags: small named values the store is in (``emergency``, ``closing``, ...).

Staff (through the store API), rules (the ``flag`` action) and the CLI set
them; rules react to changes (a ``flag`` trigger) and test them (a ``flag``
condition).  A flag is a JSON scalar; ``None`` clears it.  Reads are in memory;
each change is written to ``state_flags``, journaled, and published on the bus
as a :class:`FlagChanged`, so a change survives a restart and is audited.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from hub.bus import Bus
from hub.events import BusEvent
from hub.journal import Entry, Journal

if TYPE_CHECKING:
    from hub.hub import Hub

FlagValue = bool | int | float | str | None
FLAG_NAME = re.compile(r"^[a-z0-9][a-z0-9_.:-]{0,62}$")


class FlagChanged(BusEvent):
    type: Literal["flag"] = "flag"
    name: str
    value: FlagValue
    old: FlagValue
    by: str
    ts: float


class StateFlags:
    def __init__(self, journal: Journal, bus: Bus, *, clock: Callable[[], float] = time.time):
        self._journal = journal
        self._bus = bus
        self._clock = clock
        self._flags: dict[str, FlagValue] = {}
        self.loaded = asyncio.Event()

    async def load(self) -> None:
        rows = await self._journal.call(
            lambda c: c.execute("SELECT name, value FROM state_flags").fetchall()
        )
        self._flags = {name: json.loads(value) for name, value in rows}
        self.loaded.set()

    def get(self, name: str, default: FlagValue = None) -> FlagValue:
        return self._flags.get(name, default)

    def all(self) -> dict[str, FlagValue]:
        return dict(self._flags)

    async def set(self, name: str, value: FlagValue, *, by: str = "system") -> bool:
        """Set (``None``: clear) a flag; returns whether it changed. ``ValueError`` for
        a bad name or a value that is not a JSON scalar."""
        if not FLAG_NAME.match(name):
            raise ValueError(f"flag name {name!r} must match {FLAG_NAME.pattern}")
        if value is not None and not isinstance(value, bool | int | float | str):
            raise ValueError(f"flag {name}: value must be a bool, number or string")
        old = self._flags.get(name)
        if old == value and type(old) is type(value):
            return False
        # Memory first, so a rule that reacts to the change reads the new value.
        if value is None:
            self._flags.pop(name, None)
        else:
            self._flags[name] = value
        now = self._clock()
        await self._journal.call(lambda c: _write(c, name, value, now, by))
        change = FlagChanged(name=name, value=value, old=old, by=by, ts=now)
        await self._journal.append(
            Entry(type="flag", ts=now, name=name, data=change.model_dump_json())
        )
        await self._bus.publish(change)
        return True


def _write(conn: sqlite3.Connection, name: str, value: FlagValue, now: float, by: str) -> None:
    if value is None:
        conn.execute("DELETE FROM state_flags WHERE name = ?", (name,))
    else:
        conn.execute(
            "INSERT INTO state_flags(name, value, updated, by) VALUES (?,?,?,?)"
            " ON CONFLICT(name) DO UPDATE SET value=excluded.value, updated=excluded.updated,"
            " by=excluded.by",
            (name, json.dumps(value), now, by),
        )


async def attach(hub: Hub) -> StateFlags:
    """The hub's flags: the one a plugin already provided, or a new one, loaded."""
    flags = hub.service(StateFlags)
    if flags is None:
        # Provided before the first await: a second plugin asking meanwhile gets this one.
        flags = StateFlags(hub.journal, hub.bus, clock=hub.clock)
        hub.provide(flags)
        await flags.load()
    await flags.loaded.wait()
    return flags
