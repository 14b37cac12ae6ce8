"""Prices HQ publishes through cloud sync, in the shelf-label price book.

A ``price`` change of the inbox (docs/sync.md; key = GTIN) is one price *document* per
item: the latest version is what HQ wants.  Its applier writes it here, in the inbox
page's own transaction, as an ``esl_prices`` row whose batch is ``sync:<version>``
(so HQ's rows are told apart from the store API's batches):

- a new price replaces the HQ rows of that item that it supersedes — those effective at
  or after its own effective time (a rescheduled or retroactive price) and those of
  another scope (HQ moved the price to another store group) — while the HQ price in
  force until then stays in force until then;
- a delete withdraws every HQ row of the item: the label falls back to the store's own
  batches, if any, else to the catalog price.

The running :class:`~hub.esl.service.EslService` then rebuilds its price book from the
database (:meth:`~hub.esl.service.EslService.reload_prices`): labels are redrawn and the
catalog price — what the checkout charges — follows the shelf price in force
(:func:`follow_catalog`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from hub.catalog import Catalog
from hub.esl.prices import PriceBook, PriceRow, write_rows

#: Batch prefix of the ``esl_prices`` rows HQ published through cloud sync.
SYNC_BATCH = "sync:"


def sync_batch(version: int) -> str:
    return f"{SYNC_BATCH}{version}"


def publish_price(conn: sqlite3.Connection, row: PriceRow, now: float) -> None:
    """Write HQ's latest price of ``row.gtin``, replacing the HQ rows it supersedes."""
    conn.execute(
        "DELETE FROM esl_prices WHERE gtin = ? AND substr(batch, 1, ?) = ?"
        " AND (effective >= ? OR store_group != ? OR zone != ?)",
        (row.gtin, len(SYNC_BATCH), SYNC_BATCH, row.effective, row.group, row.zone),
    )
    write_rows(conn, [row], [], now)


def withdraw_prices(conn: sqlite3.Connection, gtin: str) -> int:
    """Delete every HQ-published row of ``gtin``; returns how many there were."""
    cur = conn.execute(
        "DELETE FROM esl_prices WHERE gtin = ? AND substr(batch, 1, ?) = ?",
        (gtin, len(SYNC_BATCH), SYNC_BATCH),
    )
    return int(cur.rowcount)


async def follow_catalog(
    catalog: Catalog, prices: PriceBook, group: str, gtins: Iterable[str], now: float
) -> int:
    """Set the catalog price of ``gtins`` to their shelf price in force for ``group`` (the
    price the checkout charges follows the label); returns how many items changed."""
    changed = []
    for gtin in gtins:
        item = catalog.get(gtin)
        shelf = prices.price(gtin, group, None, now)
        if item is not None and shelf is not None and item.price != shelf.price:
            changed.append(item.model_copy(update={"price": shelf.price}))
    if changed:
        await catalog.upsert(changed)
    return len(changed)
