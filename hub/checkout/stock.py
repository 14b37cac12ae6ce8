"""Stock locks of baskets being paid, and the stock movement of a sale.

When a shopper asks to pay, the basket's quantities are *locked* (the order is
placed): other channels reading :meth:`StockLocks.available` do not sell them
twice.  A sale turns its locks into a decrement of the inventory
(:mod:`hub.inventory`); a basket abandoned, or a payment never completed,
releases them once ``expires`` passes.  Locks never refuse a kiosk sale — the
item is in the shopper's hand, and a stock count that is off must not stop a
till — they only keep other channels honest.  They live in ``stock_locks`` so
that a restart does not forget them (expired ones are released at load).

Items are keyed by GTIN-14 in the inventory.  The zone is the one configured
for sales, unless the item is stocked in exactly one other zone.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Mapping

from hub.inventory import Inventory
from hub.journal import Journal


class StockLocks:
    def __init__(
        self,
        journal: Journal,
        inventory: Inventory | None,
        *,
        zone: str = "store",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._journal = journal
        self.inventory = inventory
        self.zone = zone
        self._clock = clock
        #: basket → {(item, zone): qty}, and each basket's expiry.
        self._locks: dict[str, dict[tuple[str, str], float]] = {}
        self._expires: dict[str, float] = {}

    async def load(self) -> None:
        rows = await self._journal.call(
            lambda c: c.execute(
                "SELECT basket, item, zone, qty, expires FROM stock_locks"
            ).fetchall()
        )
        for basket, item, zone, qty, expires in rows:
            self._locks.setdefault(basket, {})[(item, zone)] = qty
            self._expires[basket] = expires
        await self.expire()

    def zone_for(self, item: str) -> str:
        if self.inventory is None:
            return self.zone
        zones = [s.zone for s in self.inventory.levels() if s.item == item]
        if self.zone in zones or len(zones) != 1:
            return self.zone
        return zones[0]

    def locked(self, item: str, zone: str | None = None) -> float:
        key = (item, zone or self.zone_for(item))
        return sum(locks.get(key, 0.0) for locks in self._locks.values())

    def available(self, item: str, zone: str | None = None) -> float | None:
        """On hand minus locked; ``None`` when the inventory does not count the item."""
        zone = zone or self.zone_for(item)
        level = self.inventory.level(item, zone) if self.inventory is not None else None
        return None if level is None else level.qty - self.locked(item, zone)

    def baskets(self) -> dict[str, float]:
        """Basket → when its locks expire."""
        return dict(self._expires)

    async def lock(self, basket: str, quantities: Mapping[str, float], ttl: float) -> None:
        """Lock ``quantities`` (item → units) for ``basket``, replacing what it held."""
        now = self._clock()
        expires = now + ttl
        locks = {(item, self.zone_for(item)): float(q) for item, q in quantities.items() if q > 0}
        rows = [(basket, item, zone, q, now, expires) for (item, zone), q in locks.items()]

        def write(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM stock_locks WHERE basket = ?", (basket,))
            conn.executemany(
                "INSERT INTO stock_locks(basket, item, zone, qty, created, expires)"
                " VALUES (?,?,?,?,?,?)",
                rows,
            )

        await self._journal.call(write)
        self._locks[basket] = locks
        self._expires[basket] = expires

    async def release(self, basket: str) -> bool:
        if basket not in self._locks:
            return False
        self._locks.pop(basket, None)
        self._expires.pop(basket, None)
        await self._journal.call(
            lambda c: c.execute("DELETE FROM stock_locks WHERE basket = ?", (basket,))
        )
        return True

    async def expire(self) -> list[str]:
        """Release every basket whose locks are past their expiry."""
        now = self._clock()
        gone = [b for b, exp in self._expires.items() if exp <= now]
        for basket in gone:
            await self.release(basket)
        return gone

    async def sold(self, basket: str | None, quantities: Mapping[str, float], reason: str) -> None:
        """A sale: the basket's locks go, the inventory goes down by what was sold."""
        if basket is not None:
            await self.release(basket)
        if self.inventory is None:
            return
        for item, qty in quantities.items():
            if qty > 0:
                await self.inventory.adjust(item, self.zone_for(item), -qty, reason=reason)

    async def returned(self, quantities: Mapping[str, float], reason: str) -> None:
        if self.inventory is None:
            return
        for item, qty in quantities.items():
            if qty > 0:
                await self.inventory.adjust(item, self.zone_for(item), qty, reason=reason)
