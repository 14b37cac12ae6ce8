"""The built-in appliers' effect on the store's tables: HQ's prices in the shelf-label price
book (``esl_prices``), version guards."""

from __future__ import annotations

import json
from typing import Any

from hub.esl.prices import PriceBook
from hub.journal import Journal
from hub.sync import Change, ChangesPage
from tests.hub.sync.conftest import sql
from tests.hub.sync.test_inbox import make_inbox

TEA, TEA14 = "6901234567892", "06901234567892"
SOY14 = "06901234561029"


def price(version: int, key: str = TEA, op: str = "upsert", **data: Any) -> Change:
    return Change.model_validate(
        {
            "version": version,
            "type": "price",
            "key": key,
            "op": op,
            "data": data,
            "published": 1_000.0 + version,
        }
    )


def hq_rows(journal: Journal, gtin: str = TEA14) -> list[tuple[Any, ...]]:
    return [
        tuple(r)
        for r in sql(
            journal.path,
            "SELECT price, effective, store_group, zone, batch FROM esl_prices"
            " WHERE gtin = ? ORDER BY effective, id",
            gtin,
        )
    ]


async def book(journal: Journal) -> PriceBook:
    b = PriceBook()
    await journal.call(b.load)
    return b


async def test_a_price_lands_in_the_price_book_with_its_scope_and_time(journal: Journal) -> None:
    inbox = make_inbox(journal)
    result = await inbox.apply(
        ChangesPage(
            changes=[
                price(1, price=420, effective_at=5_000.0),
                price(2, key=SOY14, price=1280, member_price=1100, group="school"),
            ],
            cursor=2,
        )
    )
    assert len(result.applied) == 2
    assert hq_rows(journal) == [(420, 5_000.0, "*", "*", "sync:1")]
    # No effective time: in force from when HQ published it.
    assert hq_rows(journal, SOY14) == [(1280, 1_002.0, "school", "*", "sync:2")]
    b = await book(journal)
    assert b.price(TEA14, "default", None, 4_999.0) is None
    found = b.price(TEA14, "default", "dairy", 5_000.0)
    assert found is not None and found.price == 420
    assert b.price(SOY14, "default", None, 2_000.0) is None  # another group's price
    school = b.price(SOY14, "school", None, 2_000.0)
    assert school is not None and school.price == 1280
    doc = json.loads(sql(journal.path, "SELECT data FROM sync_documents WHERE key=?", SOY14)[0][0])
    assert doc["member_price"] == 1100


async def test_a_new_price_replaces_what_it_supersedes_and_keeps_what_is_in_force(
    journal: Journal,
) -> None:
    inbox = make_inbox(journal)
    await inbox.apply(ChangesPage(changes=[price(1, price=400, effective_at=100.0)], cursor=1))
    # Rescheduled twice: the later plan replaces the earlier one; 400 stays until then.
    await inbox.apply(ChangesPage(changes=[price(2, price=500, effective_at=300.0)], cursor=2))
    await inbox.apply(ChangesPage(changes=[price(3, price=450, effective_at=200.0)], cursor=3))
    assert [r[:2] for r in hq_rows(journal)] == [(400, 100.0), (450, 200.0)]
    b = await book(journal)
    assert [b.price(TEA14, "g", None, t).price for t in (150.0, 250.0, 400.0)] == [400, 450, 450]  # type: ignore[union-attr]
    # A retroactive price wins at once over the later ones it reaches back before.
    await inbox.apply(ChangesPage(changes=[price(4, price=390, effective_at=50.0)], cursor=4))
    assert [r[:2] for r in hq_rows(journal)] == [(390, 50.0)]
    # Moved to another store group: the old scope's price is gone too.
    await inbox.apply(
        ChangesPage(changes=[price(5, price=380, effective_at=60.0, group="school")], cursor=5)
    )
    assert [(r[0], r[2]) for r in hq_rows(journal)] == [(380, "school")]


async def test_a_delete_withdraws_only_hqs_rows(journal: Journal) -> None:
    inbox = make_inbox(journal)
    await journal.call(
        lambda c: c.execute(
            "INSERT INTO esl_prices(gtin, store_group, zone, price, currency, effective, batch,"
            " created) VALUES (?, '*', '*', 999, 'CNY', 10.0, 'store-batch', 0)",
            (TEA14,),
        )
    )
    await inbox.apply(ChangesPage(changes=[price(1, price=420)], cursor=1))
    assert len(hq_rows(journal)) == 2
    await inbox.apply(ChangesPage(changes=[price(2, op="delete")], cursor=2))
    assert hq_rows(journal) == [(999, 10.0, "*", "*", "store-batch")]
    assert sql(journal.path, "SELECT * FROM sync_documents WHERE type='price'") == []


async def test_an_older_price_never_overrides_a_newer_one(journal: Journal) -> None:
    inbox = make_inbox(journal)
    await inbox.apply(ChangesPage(changes=[price(7, price=700)], cursor=7))
    # The same price delivered again out of band (a quarantine retry, another inbox):
    # version 5 is older than what is in force, so nothing changes.
    inbox.cursor = 0
    await journal.call(
        lambda c: c.execute("UPDATE sync_state SET value='0' WHERE key='inbox_cursor'")
    )
    result = await inbox.apply(ChangesPage(changes=[price(5, price=500)], cursor=5))
    assert [c.version for c in result.applied] == [5]
    assert [r[0] for r in hq_rows(journal)] == [700]


async def test_a_bad_price_is_quarantined_whole(journal: Journal) -> None:
    inbox = make_inbox(journal)
    result = await inbox.apply(
        ChangesPage(
            changes=[
                price(1, price=-1),
                price(2, key="6901234567890", price=100),  # wrong check digit
                price(3, price=100, currency="yuan"),
            ],
            cursor=3,
        )
    )
    assert [q.version for q in result.quarantined] == [1, 2, 3]
    assert "price" in result.quarantined[0].reason
    assert "check digit" in result.quarantined[1].reason
    assert result.quarantined[2].reason.startswith("currency")
    assert hq_rows(journal) == []


async def test_entry_keys_and_cards_on_file_reach_the_unmanned_entrance(journal: Journal) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from hub.unmanned import tokens
    from hub.unmanned.entry import card_owner

    good = tokens.public_key_text(Ed25519PrivateKey.generate())

    def change(version: int, type_: str, key: str, data: dict[str, Any]) -> Change:
        return Change.model_validate(
            {"version": version, "type": type_, "key": key, "op": "upsert", "data": data}
        )

    inbox = make_inbox(journal)
    page = ChangesPage(
        cursor=3,
        changes=[
            change(1, "entry_key", "k2", {"public_key": good}),
            change(2, "entry_key", "k3", {"public_key": "bm90IGEga2V5"}),
            change(3, "member", "m1", {"name": "Li Lei", "cards": ["card-1"]}),
        ],
    )
    result = await inbox.apply(page)
    assert [q.key for q in result.quarantined] == ["k3"]
    assert "Ed25519" in result.quarantined[0].reason
    assert await journal.call(tokens.stored_keys) == {"k2": good}
    assert await journal.call(lambda c: card_owner(c, "card-1")) == "m1"
