"""Promotions HQ publishes through cloud sync, for pricing baskets at the checkout.

The inbox keeps the latest version of each published promotion in ``sync_documents``
(type ``promotion``, key = the promotion id; validated by hub/pricing's models when it
was applied).  The checkout prices baskets with the promotions of its config *and*
these; a published promotion with the id of a config one replaces it.  A published
price with a ``member_price`` becomes a ``member_price`` promotion of its item (id
``hq-member-price:<GTIN>``), in force from the price's ``effective_at``.

Read at start and again after every inbox page with promotion or price changes.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Sequence
from decimal import Decimal

from pydantic import ValidationError

from hub.catalog import minor_digits
from hub.pricing import MemberPrice, Promotion, parse_promotions

log = logging.getLogger("storehub.checkout")

MEMBER_PRICE_PREFIX = "hq-member-price:"


def read_published(conn: sqlite3.Connection, currency: str) -> list[Promotion]:
    """The published promotions and member prices, by id; a document that no longer
    validates (a newer release changed a model) is logged and left out."""
    out: list[Promotion] = []
    for key, text in conn.execute(
        "SELECT key, data FROM sync_documents WHERE type = 'promotion' ORDER BY key"
    ):
        try:
            out.extend(parse_promotions([{**json.loads(text), "id": key}]))
        except (ValidationError, ValueError) as exc:
            log.error("published promotion %s is not used: %s", key, exc)
    for gtin, text in conn.execute(
        "SELECT key, data FROM sync_documents WHERE type = 'price' ORDER BY key"
    ):
        price = json.loads(text)
        member = price.get("member_price")
        if member is None:
            continue
        if price.get("currency", currency) != currency:
            log.error(
                "member price of %s is in %s, not %s: not used", gtin, price["currency"], currency
            )
            continue
        out.append(
            MemberPrice(
                id=MEMBER_PRICE_PREFIX + gtin,
                name="Member price",
                items=frozenset({gtin}),
                price=Decimal(int(member)).scaleb(-minor_digits(currency)),
                starts=price.get("effective_at"),
            )
        )
    return out


def merge(config: Sequence[Promotion], published: Sequence[Promotion]) -> tuple[Promotion, ...]:
    """Config promotions plus published ones; a published one replaces a config one of the
    same id."""
    by_id: dict[str, Promotion] = {p.id: p for p in config}
    by_id.update((p.id, p) for p in published)
    return tuple(by_id.values())
