"""hub/paid.py: the paid registry."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from hub.db import connect_reader
from hub.journal import Journal
from hub.paid import EpcError, PaidRegistry, history, normalise_epc

A, B, C = "3074257BF7194E4000001A85", "3074257BF7194E4000001A86", "3074257BF7194E4000001A87"


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_normalise_epc() -> None:
    assert normalise_epc(" 3074 257b f719 4e40 0000 1a85 ") == A
    for bad in ("", "xyz", "3074-257B", "ABC"):
        with pytest.raises(EpcError):
            normalise_epc(bad)


async def test_mark_is_immediate_and_durable(journal: Journal, tmp_path: Path) -> None:
    paid = PaidRegistry(journal, clock=Clock())
    marking = asyncio.ensure_future(paid.mark_paid([A.lower(), B, A], "sale-1"))
    await asyncio.sleep(0)
    assert paid.is_paid(A) and paid.is_paid(B.lower())  # before the commit
    assert await marking == [A, B]
    assert await paid.mark_paid([A], "sale-1") == []  # nothing new
    mark = paid.mark(A)
    assert mark is not None and (mark.sale_id, mark.ts) == ("sale-1", 1000.0)
    assert paid.sale("sale-1") == [A, B] and len(paid) == 2 and not paid.is_paid(C)
    db = connect_reader(tmp_path / "hub.db")
    assert db.execute("SELECT COUNT(*) FROM paid").fetchone()[0] == 2
    db.close()


async def test_bad_epcs_change_nothing(journal: Journal) -> None:
    paid = PaidRegistry(journal)
    with pytest.raises(EpcError):
        await paid.mark_paid([A, "not-hex"], "sale-1")
    with pytest.raises(ValueError, match="sale_id"):
        await paid.mark_paid([A], "")
    assert len(paid) == 0


async def test_refund_void_and_partial_return(journal: Journal, tmp_path: Path) -> None:
    paid = PaidRegistry(journal)
    await paid.mark_paid([A, B], "sale-1")
    await paid.mark_paid([C], "sale-2")
    # A partial return of sale-1: only its own EPCs.
    assert await paid.unmark([A, C], sale_id="sale-1", reason="return") == [A]
    assert not paid.is_paid(A) and paid.is_paid(C)
    # A void of sale-2: every EPC of it.
    assert await paid.unmark(sale_id="sale-2", reason="void") == [C]
    # A refund by EPC, whatever the sale.
    assert await paid.unmark([B], reason="refund") == [B]
    assert await paid.unmark([B], reason="refund") == []
    assert len(paid) == 0 and paid.sale("sale-1") == []
    with pytest.raises(ValueError, match="EPCs or a sale"):
        await paid.unmark(reason="?")
    db = connect_reader(tmp_path / "hub.db")
    rows = history(db, limit=10)
    assert [(r["epc"], r["action"], r["reason"]) for r in rows][:3] == [
        (B, "unpaid", "refund"),
        (C, "unpaid", "void"),
        (A, "unpaid", "return"),
    ]
    assert [r["sale_id"] for r in history(db, epc=A.lower())] == ["sale-1", "sale-1"]
    assert len(history(db, sale_id="sale-2")) == 2
    db.close()


async def test_a_resold_tag_moves_to_the_new_sale(journal: Journal) -> None:
    paid = PaidRegistry(journal)
    await paid.mark_paid([A], "sale-1")
    assert await paid.mark_paid([A], "sale-2") == [A]
    assert paid.sale("sale-1") == [] and paid.sale("sale-2") == [A]


async def test_the_registry_survives_a_restart(tmp_path: Path) -> None:
    for _ in range(2):  # write, stop, start again
        journal = Journal(tmp_path / "hub.db")
        await journal.open()
        task = asyncio.create_task(journal.run())
        paid = PaidRegistry(journal)
        await paid.load()
        if not len(paid):
            await paid.mark_paid([A, B], "sale-1")
            await paid.unmark([B], reason="refund")
        else:
            assert paid.is_paid(A) and not paid.is_paid(B)
            assert paid.sale("sale-1") == [A]
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        journal.close()
    assert paid.is_paid(A)


async def test_a_failed_write_is_rolled_back_in_memory(journal: Journal) -> None:
    paid = PaidRegistry(journal)
    await paid.mark_paid([A], "sale-1")
    await journal.call(lambda c: c.execute("DROP TABLE paid_history"))
    with pytest.raises(sqlite3.OperationalError):
        await paid.mark_paid([B], "sale-2")
    with pytest.raises(sqlite3.OperationalError):
        await paid.unmark([A], reason="refund")
    assert paid.is_paid(A) and not paid.is_paid(B) and paid.sale("sale-1") == [A]
