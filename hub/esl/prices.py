"""Shelf prices per store group and zone, with effective times, and promotions.

HQ sets prices for a *scope*: a store group (business district, community,
school, ...) or ``*`` for all, and a zone of the store (or ``*``).  The price a
label in zone Z of a store in group G shows at time t is, from the most
specific scope that has one — (G, Z), (G, \\*), (\\*, Z), (\\*, \\*) — the row with
the latest ``effective`` ≤ t.  A more specific price is an override: a later
national price does not replace a school-district one.  Promotions are picked
the same way among those with ``start`` ≤ t < ``end``.

Kept in memory (every label render reads it) and in SQLite (``esl_prices``,
``esl_promotions``; written by :class:`hub.esl.service.EslService` through the
journal).  :meth:`PriceBook.changes_between` tells the scheduler which items
change in a time window, including promotions starting and ending.
"""

from __future__ import annotations

import bisect
import sqlite3
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

ANY = "*"
#: Unit pricing from a batch: GTIN → (content quantity, its unit, the basis shown).
Units = dict[str, tuple[float, str, str]]


@dataclass(frozen=True, slots=True)
class PriceRow:
    gtin: str
    price: int
    currency: str
    effective: float
    group: str = ANY
    zone: str = ANY
    batch: str | None = None


@dataclass(frozen=True, slots=True)
class PromoRow:
    gtin: str
    price: int
    start: float
    end: float
    text: str | None = None
    group: str = ANY
    zone: str = ANY
    batch: str | None = None


@dataclass(frozen=True, slots=True)
class ShelfPrice:
    price: int
    currency: str
    promo_price: int | None = None
    promo_text: str | None = None
    promo_end: float | None = None


def _scopes(group: str, zone: str | None) -> list[tuple[str, str]]:
    z = zone or ANY
    return [(group, z), (group, ANY), (ANY, z), (ANY, ANY)]


class PriceBook:
    def __init__(self) -> None:
        # gtin → scope → rows sorted by effective (prices) / start (promotions)
        self._prices: dict[str, dict[tuple[str, str], list[PriceRow]]] = defaultdict(dict)
        self._promos: dict[str, dict[tuple[str, str], list[PromoRow]]] = defaultdict(dict)
        #: Sorted (time, gtin, batch) of every moment an item's shelf price may change.
        self._moments: list[tuple[float, str, str]] = []

    def __contains__(self, gtin: object) -> bool:
        return gtin in self._prices

    def gtins(self) -> set[str]:
        return set(self._prices) | set(self._promos)

    def add_price(self, row: PriceRow, *, now: float | None = None) -> None:
        """Add a price; its effective time is scheduled unless it is not after ``now``
        (the caller applies those at once)."""
        rows = self._prices[row.gtin].setdefault((row.group, row.zone), [])
        # Later rows win ties: insert after equal effective times.
        rows.insert(bisect.bisect_right([r.effective for r in rows], row.effective), row)
        self._moment(row.effective, row.gtin, row.batch, now)

    def add_promotion(self, row: PromoRow, *, now: float | None = None) -> None:
        rows = self._promos[row.gtin].setdefault((row.group, row.zone), [])
        rows.insert(bisect.bisect_right([r.start for r in rows], row.start), row)
        self._moment(row.start, row.gtin, row.batch, now)
        self._moment(row.end, row.gtin, row.batch, now)

    def _moment(self, at: float, gtin: str, batch: str | None, now: float | None) -> None:
        if now is None or at > now:
            bisect.insort(self._moments, (at, gtin, batch or ""))

    def price(self, gtin: str, group: str, zone: str | None, at: float) -> ShelfPrice | None:
        """The shelf price of ``gtin`` for a label in ``zone`` of a ``group`` store at ``at``."""
        regular: PriceRow | None = None
        by_scope = self._prices.get(gtin, {})
        for scope in _scopes(group, zone):
            rows = by_scope.get(scope)
            if rows:
                i = bisect.bisect_right([r.effective for r in rows], at)
                if i:
                    regular = rows[i - 1]
                    break
        if regular is None:
            return None
        promo = self.promotion(gtin, group, zone, at)
        if promo is None:
            return ShelfPrice(regular.price, regular.currency)
        return ShelfPrice(regular.price, regular.currency, promo.price, promo.text, promo.end)

    def promotion(self, gtin: str, group: str, zone: str | None, at: float) -> PromoRow | None:
        by_scope = self._promos.get(gtin, {})
        for scope in _scopes(group, zone):
            live = [r for r in by_scope.get(scope, ()) if r.start <= at < r.end]
            if live:
                return live[-1]  # the latest start wins
        return None

    def changes_between(self, after: float, until: float) -> dict[str, set[str]]:
        """Items whose price or promotion may change in ``(after, until]`` → their batches."""
        lo = bisect.bisect_right(self._moments, (after, "\uffff", "\uffff"))
        hi = bisect.bisect_right(self._moments, (until, "\uffff", "\uffff"))
        out: dict[str, set[str]] = defaultdict(set)
        for _, gtin, batch in self._moments[lo:hi]:
            if batch:
                out[gtin].add(batch)
            else:
                out.setdefault(gtin, set())
        return dict(out)

    def next_change(self, after: float) -> float | None:
        i = bisect.bisect_right(self._moments, (after, "\uffff", "\uffff"))
        return self._moments[i][0] if i < len(self._moments) else None

    # -- persistence ---------------------------------------------------------------------

    def load(self, conn: sqlite3.Connection) -> None:
        for g, grp, zone, price, cur, eff, batch in conn.execute(
            "SELECT gtin, store_group, zone, price, currency, effective, batch FROM esl_prices"
            " ORDER BY id"
        ):
            self.add_price(PriceRow(g, price, cur, eff, grp, zone, batch))
        for g, grp, zone, price, start, end, text, batch in conn.execute(
            "SELECT gtin, store_group, zone, price, start, end_ts, text, batch FROM esl_promotions"
            " ORDER BY id"
        ):
            self.add_promotion(PromoRow(g, price, start, end, text, grp, zone, batch))


def write_rows(
    conn: sqlite3.Connection, prices: Iterable[PriceRow], promos: Iterable[PromoRow], now: float
) -> None:
    conn.executemany(
        "INSERT INTO esl_prices(gtin, store_group, zone, price, currency, effective, batch,"
        " created) VALUES (?,?,?,?,?,?,?,?)",
        [(r.gtin, r.group, r.zone, r.price, r.currency, r.effective, r.batch, now) for r in prices],
    )
    conn.executemany(
        "INSERT INTO esl_promotions(gtin, store_group, zone, price, start, end_ts, text, batch,"
        " created) VALUES (?,?,?,?,?,?,?,?,?)",
        [(r.gtin, r.group, r.zone, r.price, r.start, r.end, r.text, r.batch, now) for r in promos],
    )


def write_units(conn: sqlite3.Connection, units: Units, now: float) -> None:
    """Unit pricing (GTIN → content quantity, unit, basis), the latest per item."""
    conn.executemany(
        "INSERT INTO esl_units(gtin, content_qty, content_unit, basis, updated)"
        " VALUES (?,?,?,?,?) ON CONFLICT(gtin) DO UPDATE SET"
        " content_qty=excluded.content_qty, content_unit=excluded.content_unit,"
        " basis=excluded.basis, updated=excluded.updated",
        [(g, q, u, b, now) for g, (q, u, b) in units.items()],
    )
