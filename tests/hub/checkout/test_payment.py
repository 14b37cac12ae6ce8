"""hub.checkout.payment and hub.checkout.paying: idempotent payments, one sale per payment,
settlement, recovery and refunds — against a real journal (SQLite)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from hub.checkout.payment import PaymentConflict, PaymentError, SimulatedProvider
from hub.checkout.stock import StockLocks
from hub.journal import Journal
from hub.pricing import round_half_up
from tests.conftest import eventually
from tests.hub.checkout.conftest import EPCS, Harness, draft

# -- the simulated provider --------------------------------------------------------------------


async def test_simulated_provider_is_idempotent_on_the_payment_id() -> None:
    p = SimulatedProvider(delay_s=0.0)
    from hub.checkout.payment import PaymentRequest

    first = await p.create(PaymentRequest(id="p1", amount=100, currency="CNY"))
    again = await p.create(PaymentRequest(id="p1", amount=100, currency="CNY"))
    assert first == again and p.calls["create"] == 1 and first.qr.startswith("simpay://s1/p1")
    with pytest.raises(PaymentConflict):
        await p.create(PaymentRequest(id="p1", amount=101, currency="CNY"))
    assert (await p.query("p1")).status == "succeeded"
    assert (await p.cancel("p1")).status == "succeeded"  # too late to cancel
    assert await p.refund("p1", "r1", 60) and await p.refund("p1", "r1", 60)  # idempotent
    with pytest.raises(PaymentError):
        await p.refund("p1", "r2", 60)  # more than is left
    with pytest.raises(PaymentError):
        await p.query("nope")


async def test_failure_and_timeout_rates_are_drawn_reproducibly() -> None:
    from hub.checkout.payment import PaymentRequest

    async def outcomes(seed: int) -> list[str]:
        p = SimulatedProvider(delay_s=0.0, fail_rate=0.3, timeout_rate=0.3, seed=seed)
        out: list[str] = []
        for i in range(30):
            await p.create(PaymentRequest(id=f"p{i}", amount=1, currency="CNY"))
            out.append((await p.query(f"p{i}")).status)
        return out

    first = await outcomes(5)
    assert first == await outcomes(5)
    assert {"succeeded", "failed", "pending"} <= set(first)


# -- the cashier -----------------------------------------------------------------------------------


async def test_retries_make_one_payment_and_one_sale(held: Harness) -> None:
    d = draft()
    payments = await asyncio.gather(*[held.cashier.start("pay-1", d) for _ in range(5)])
    assert {p.id for p in payments} == {"pay-1"} and held.provider.calls["create"] == 1
    assert held.stock.locked("06901234567892", "store") == 2.0
    held.provider.settle("pay-1", "succeeded")
    await eventually(lambda: held.finals)
    # The kiosk, a watcher and a cancel all try to complete it again.
    paid = await held.provider.query("pay-1")
    again = await asyncio.gather(*[held.cashier.complete(paid, d) for _ in range(3)])
    assert [c.new for c in again] == [False, False, False]
    ((payment, done),) = held.finals
    assert payment.status == "succeeded" and done is not None and done.new
    assert {c.sale.id for c in again} == {done.sale.id}
    assert held.count("SELECT COUNT(*) FROM sales") == 1
    assert held.count("SELECT COUNT(*) FROM journal WHERE type='sale'") == 1
    assert held.count("SELECT COUNT(*) FROM outbox WHERE stream='sales'") == 1
    assert held.count("SELECT COUNT(*) FROM sales WHERE settled=1") == 1
    # Settled: locks gone, tags paid, e-invoice issued.
    assert held.stock.locked("06901234567892", "store") == 0.0
    assert all(held.paid.is_paid(e) for e in EPCS)
    assert done.einvoice == f"{done.sale.id}-B1"
    assert done.sale.total == 900 + 1280 - 200 and "TOTAL CNY" in done.receipt
    # A new start with the same id finds the finished payment: no second charge.
    assert (await held.cashier.start("pay-1", d)).status == "succeeded"
    assert held.provider.calls["create"] == 1


async def test_a_payment_not_made_in_time_expires(held: Harness) -> None:
    await held.cashier.start("pay-2", draft("b2"))
    await eventually(lambda: held.finals, timeout=5)
    ((payment, done),) = held.finals
    assert payment.status == "expired" and done is None
    assert held.count("SELECT COUNT(*) FROM sales") == 0
    assert held.scalar("SELECT status FROM payments WHERE id='pay-2'") == "expired"
    # The basket's stock stays locked until the basket is abandoned.
    assert held.stock.baskets().keys() == {"b2"}
    assert await held.stock.release("b2") and held.stock.baskets() == {}


async def test_a_payment_that_succeeds_while_being_cancelled_is_still_a_sale(
    held: Harness,
) -> None:
    await held.cashier.start("pay-3", draft())
    held.provider.settle("pay-3", "succeeded")
    cancelled = await held.cashier.cancel("pay-3")
    assert cancelled is not None and cancelled.status == "succeeded"
    await eventually(lambda: held.finals)
    assert held.count("SELECT COUNT(*) FROM sales") == 1


async def test_pending_payments_and_unsettled_sales_survive_a_restart(journal: Journal) -> None:
    first = Harness(journal, SimulatedProvider(hold=True))
    await first.cashier.start("pay-4", draft())
    # A new hub process: a new cashier on the same database and provider.
    second = Harness(journal, first.provider)
    await second.cashier.recover()
    first.provider.settle("pay-4", "succeeded")
    await eventually(lambda: second.finals)
    assert second.finals[0][1] is not None
    await journal.call(lambda c: c.execute("UPDATE sales SET settled = 0"))
    third = Harness(journal, first.provider)
    await third.cashier.recover()
    assert third.count("SELECT COUNT(*) FROM sales WHERE settled = 1") == 1
    assert all(third.paid.is_paid(e) for e in EPCS)


async def test_partial_refund_red_and_new_einvoice(held: Harness) -> None:
    await held.cashier.start("pay-5", draft())
    held.provider.settle("pay-5", "succeeded")
    await eventually(lambda: held.finals)
    done = held.finals[0][1]
    assert done is not None
    sale = done.sale
    refund = await held.cashier.refund(sale.id, {0: 1}, refund_id="r-1", reason="damaged")
    again = await held.cashier.refund(sale.id, {0: 1}, refund_id="r-1")
    assert again == refund and held.provider.calls["refund"] == 2  # provider idempotent too
    assert refund.red == f"{sale.id}-R1" and refund.replacement == f"{sale.id}-B2"
    tea = sale.lines[0]
    assert refund.amount == tea.amount - round_half_up(Decimal(tea.amount) / 2)
    assert held.count("SELECT COUNT(*) FROM einvoices WHERE current = 1") == 1
    assert held.count("SELECT COUNT(*) FROM einvoices WHERE kind = 'red'") == 1
    assert held.count("SELECT COUNT(*) FROM outbox WHERE stream = 'einvoices'") == 3
    # The returned unit's tag alarms again at the gate; the kept one does not.
    assert not held.paid.is_paid(EPCS[1]) and held.paid.is_paid(EPCS[0])


async def test_a_buyer_title_after_the_fact_reissues_the_einvoice(held: Harness) -> None:
    await held.cashier.start("pay-6", draft())
    held.provider.settle("pay-6", "succeeded")
    await eventually(lambda: held.finals)
    done = held.finals[0][1]
    assert done is not None and done.einvoice is not None
    same = await held.cashier.issue_einvoice(done.sale.id)
    assert same.id == done.einvoice and same.buyer is None
    company = await held.cashier.issue_einvoice(done.sale.id, buyer="ACME Ltd 91310000X")
    assert company.id == f"{done.sale.id}-B2" and company.buyer == "ACME Ltd 91310000X"
    assert company.total == same.total
    assert held.count("SELECT COUNT(*) FROM einvoices WHERE kind = 'red'") == 1
    with pytest.raises(LookupError):
        await held.cashier.issue_einvoice("no-such-sale")


async def test_stock_locks_expire_and_survive_a_restart(journal: Journal) -> None:
    now = [1000.0]
    locks = StockLocks(journal, None, clock=lambda: now[0])
    await locks.lock("basket-a", {"06901234567892": 2}, ttl=60)
    await locks.lock("basket-b", {"06901234567892": 1}, ttl=600)
    assert locks.locked("06901234567892") == 3.0
    assert locks.available("06901234567892") is None  # the inventory does not count it
    now[0] += 61
    again = StockLocks(journal, None, clock=lambda: now[0])  # a restart
    await again.load()  # releases what expired meanwhile
    assert again.baskets().keys() == {"basket-b"} and again.locked("06901234567892") == 1.0
    now[0] += 600
    assert await again.expire() == ["basket-b"]
