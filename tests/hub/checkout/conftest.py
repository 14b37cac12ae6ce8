"""Shared by the checkout tests: a real journal on a temporary SQLite file, and a cashier
wired to a simulated provider, stock locks and the paid registry."""

from __future__ import annotations

import asyncio
import sqlite3
from decimal import Decimal
from typing import Any

import pytest

from hub.checkout.ledger import Completed, Draft
from hub.checkout.paying import Cashier
from hub.checkout.payment import Payment, SimulatedProvider
from hub.checkout.sales import sale_lines
from hub.checkout.stock import StockLocks
from hub.journal import Journal
from hub.paid import PaidRegistry
from hub.pricing import BasketItem, SpendThreshold, Tier, price_basket

EPCS = ("3074257BF7194E4000001A85", "3074257BF7194E4000001A86")


def draft(basket: str = "b1") -> Draft:
    items = [
        BasketItem("06901234567892", "Green tea", 450, Decimal("0.13"), qty=2, epcs=EPCS),
        BasketItem("06901234561029", "Soy sauce", 1280, Decimal("0.13")),
    ]
    priced = price_basket(
        items,
        [SpendThreshold(id="mj", tiers=(Tier(spend=Decimal(20), off=Decimal(2)),))],
        currency="CNY",
        now=0.0,
    )
    lines, promos = sale_lines(priced)
    return Draft(
        store="s1",
        device="kiosk-1",
        basket=basket,
        member=None,
        currency="CNY",
        lines=lines,
        promotions=promos,
    )


class Harness:
    def __init__(self, journal: Journal, provider: SimulatedProvider) -> None:
        self.journal = journal
        self.provider = provider
        self.finals: list[tuple[Payment, Completed | None]] = []
        self.stock = StockLocks(journal, None)
        self.paid = PaidRegistry(journal)
        self.tasks: set[asyncio.Task[Any]] = set()
        self.cashier = Cashier(
            journal,
            provider,
            self.stock,
            self.paid,
            self.on_final,
            spawn=self.spawn,
            timeout_s=1.0,
            poll_s=0.02,
        )

    async def on_final(self, payment: Payment, _draft: Draft, done: Completed | None) -> None:
        self.finals.append((payment, done))

    def spawn(self, coro: Any, name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=name)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    def scalar(self, sql: str) -> Any:
        conn = sqlite3.connect(self.journal.path)
        try:
            return conn.execute(sql).fetchone()[0]
        finally:
            conn.close()

    def count(self, sql: str) -> int:
        return int(self.scalar(sql))


@pytest.fixture
def held(journal: Journal) -> Harness:
    return Harness(journal, SimulatedProvider(hold=True))
