"""Stock per item and zone, with safe-stock levels.

Counts come from stock-takes (:meth:`Inventory.set_level`) and movements
(:meth:`Inventory.adjust`: deliveries, and sales in a later issue).  Reads are
in memory (rules test stock levels while they evaluate); each change is
written to ``stock``, journaled with an ``inventory`` outbox row for the cloud,
and published on the bus as a :class:`StockChanged` so that rules can raise a
replenishment alert when an item falls to its safe-stock level.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict

from hub.bus import Bus
from hub.events import BusEvent
from hub.journal import Entry, Journal

if TYPE_CHECKING:
    from hub.hub import Hub


class StockLevel(BaseModel):
    model_config = ConfigDict(frozen=True)

    item: str
    zone: str
    qty: float
    #: Safe-stock level: at or below it the item needs replenishing. None = not set.
    safe: float | None = None
    updated: float = 0.0

    @property
    def low(self) -> bool:
        return self.safe is not None and self.qty <= self.safe


class StockChanged(BusEvent):
    type: Literal["stock"] = "stock"
    item: str
    zone: str
    qty: float
    old: float | None
    safe: float | None
    reason: str
    ts: float


class Inventory:
    def __init__(self, journal: Journal, bus: Bus, *, clock: Callable[[], float] = time.time):
        self._journal = journal
        self._bus = bus
        self._clock = clock
        self._levels: dict[tuple[str, str], StockLevel] = {}
        self.loaded = asyncio.Event()

    async def load(self) -> None:
        rows = await self._journal.call(
            lambda c: c.execute("SELECT item, zone, qty, safe, updated FROM stock").fetchall()
        )
        self._levels = {
            (r[0], r[1]): StockLevel(item=r[0], zone=r[1], qty=r[2], safe=r[3], updated=r[4])
            for r in rows
        }
        self.loaded.set()

    def level(self, item: str, zone: str) -> StockLevel | None:
        return self._levels.get((item, zone))

    def levels(self, zone: str | None = None) -> list[StockLevel]:
        return sorted(
            (s for s in self._levels.values() if zone is None or s.zone == zone),
            key=lambda s: (s.zone, s.item),
        )

    async def set_level(
        self, item: str, zone: str, qty: float, *, reason: str = "count"
    ) -> StockLevel:
        """A counted quantity (stock-take)."""
        current = self._levels.get((item, zone))
        return await self._change(item, zone, qty, current.safe if current else None, reason)

    async def adjust(self, item: str, zone: str, delta: float, *, reason: str) -> StockLevel:
        """A movement: ``+n`` delivered, ``-n`` sold or written off. Stock never goes
        below zero: a sale of an uncounted item is not a reason to invent debt."""
        current = self._levels.get((item, zone))
        qty = max((current.qty if current else 0.0) + delta, 0.0)
        return await self._change(item, zone, qty, current.safe if current else None, reason)

    async def set_safe(self, item: str, zone: str, safe: float | None) -> StockLevel:
        current = self._levels.get((item, zone))
        return await self._change(item, zone, current.qty if current else 0.0, safe, "safe_stock")

    async def _change(
        self, item: str, zone: str, qty: float, safe: float | None, reason: str
    ) -> StockLevel:
        if not item or qty < 0 or (safe is not None and safe < 0):
            raise ValueError("stock needs an item, and quantities that are not negative")
        old = self._levels.get((item, zone))
        now = self._clock()
        level = StockLevel(
            item=item,
            zone=zone,
            qty=float(qty),
            safe=None if safe is None else float(safe),
            updated=now,
        )
        # Memory first: a rule reacting to the change reads the new level.
        self._levels[(item, zone)] = level
        await self._journal.call(lambda c: _write(c, level))
        change = StockChanged(
            item=item,
            zone=zone,
            qty=level.qty,
            old=old.qty if old else None,
            safe=level.safe,
            reason=reason,
            ts=now,
        )
        await self._journal.append(
            Entry(
                type="stock", ts=now, name=item, data=change.model_dump_json(), stream="inventory"
            )
        )
        await self._bus.publish(change)
        return level


def _write(conn: sqlite3.Connection, s: StockLevel) -> None:
    conn.execute(
        "INSERT INTO stock(item, zone, qty, safe, updated) VALUES (?,?,?,?,?)"
        " ON CONFLICT(item, zone) DO UPDATE SET qty=excluded.qty, safe=excluded.safe,"
        " updated=excluded.updated",
        (s.item, s.zone, s.qty, s.safe, s.updated),
    )


async def attach(hub: Hub) -> Inventory:
    """The hub's inventory: the one a plugin already provided, or a new one, loaded."""
    inventory = hub.service(Inventory)
    if inventory is None:
        inventory = Inventory(hub.journal, hub.bus, clock=hub.clock)
        hub.provide(inventory)
        await inventory.load()
    await inventory.loaded.wait()
    return inventory
