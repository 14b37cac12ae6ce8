"""What a running hub does once an inbox page with HQ's changes committed.

The appliers write the database (in the page's transaction); these hooks
(:meth:`hub.sync.inbox.Inbox.on_applied`) bring the hub's in-memory views along:

- ``catalog.item`` → the shared :class:`~hub.catalog.Catalog` reloads;
- ``price`` → the ESL service rebuilds its price book, redraws the labels of those
  items and sets their catalog price (what the checkout charges) to the shelf price
  in force (without an ESL service: the catalog price alone); the checkout re-reads
  member prices;
- ``promotion`` → the checkout re-reads the published promotions;
- ``device`` → provisioned devices are added, replaced or removed (hub/provisioning.py).

Each service is looked up when its hook runs, so a hub without it simply skips it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from hub.catalog import Catalog, normalise_gtin
from hub.esl.prices import PriceBook
from hub.esl.published import follow_catalog
from hub.provisioning import apply_provisioned
from hub.sync.inbox import Inbox
from hub.sync.protocol import Change

if TYPE_CHECKING:
    from hub.hub import Hub


def follow(hub: Hub, inbox: Inbox) -> None:
    """Register the hub's after-apply hooks on ``inbox``."""

    async def catalog(_changes: Sequence[Change]) -> None:
        found = hub.service(Catalog)
        if found is not None:
            await found.load()

    async def prices(changes: Sequence[Change]) -> None:
        gtins = {normalise_gtin(c.key) for c in changes}
        from hub.esl.service import EslService  # heavy (rendering); only when prices change

        esl = hub.service(EslService)
        if esl is not None:
            await esl.reload_prices(gtins)
        elif (found := hub.service(Catalog)) is not None:
            from hub.esl.settings import load_settings

            book = PriceBook()
            await hub.journal.call(book.load)
            group = load_settings().store_group
            await follow_catalog(found, book, group, gtins, hub.clock())
        await promotions(changes)

    async def promotions(_changes: Sequence[Change]) -> None:
        from hub.checkout.service import CheckoutService

        checkout = hub.service(CheckoutService)
        if checkout is not None:
            await checkout.load_published()

    async def devices(changes: Sequence[Change]) -> None:
        await apply_provisioned(hub, {c.key for c in changes})

    inbox.on_applied("catalog.item", catalog)
    inbox.on_applied("price", prices)
    inbox.on_applied("promotion", promotions)
    inbox.on_applied("device", devices)
