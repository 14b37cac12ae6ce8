"""Payments and what follows them: the sale, the stock, the paid tags, the e-invoice.

:class:`Cashier` is the part of checkout that must not lose money or count it
twice, whatever the kiosk does:

- :meth:`Cashier.start` creates (or finds) the payment by id, stores it with the
  *draft* of the sale it pays for, and watches it until it is final or expires;
- :meth:`Cashier.complete` records the sale once per payment (the database's
  unique key decides), then *settles* it — stock decremented, EPCs marked paid,
  e-invoice issued — and marks it settled; a sale left unsettled by a crash is
  settled at the next start (:meth:`Cashier.recover`);
- :meth:`Cashier.refund` returns units of a sale: red + new e-invoice record,
  money back through the provider, stock back, tags unmarked.

Nothing here knows about kiosks' screens: results go to ``on_final``.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from hub.checkout import einvoice
from hub.checkout.ledger import (
    Completed,
    Draft,
    insert_payment,
    pending_payments,
    stored_payment,
    update_payment,
)
from hub.checkout.payment import Payment, PaymentError, PaymentProvider, PaymentRequest
from hub.checkout.sales import (
    PaymentInfo,
    Sale,
    load_sale,
    mark_settled,
    receipt_text,
    record_sale,
    unsettled,
)
from hub.checkout.stock import StockLocks
from hub.journal import Journal
from hub.paid import PaidRegistry
from hub.pricing.invoice import Invoice

log = logging.getLogger("storehub.checkout.paying")


OnFinal = Callable[[Payment, Draft, Completed | None], Awaitable[None]]


def sale_id_for(payment_id: str, ts: float) -> str:
    """Readable and stable per payment: date + a hash of the payment id."""
    digest = hashlib.sha256(payment_id.encode()).hexdigest()[:10].upper()
    return f"{time.strftime('%Y%m%d', time.localtime(ts))}-{digest}"


class Cashier:
    def __init__(
        self,
        journal: Journal,
        provider: PaymentProvider,
        stock: StockLocks,
        paid: PaidRegistry | None,
        on_final: OnFinal,
        *,
        spawn: Callable[[Any, str], object],
        timeout_s: float = 120.0,
        poll_s: float = 0.5,
        lock_s: float = 420.0,
        auto_einvoice: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.journal = journal
        self.provider = provider
        self.stock = stock
        self.paid = paid
        self.on_final = on_final
        self._spawn = spawn
        self.timeout_s = timeout_s
        self.poll_s = poll_s
        self.lock_s = lock_s
        self.auto_einvoice = auto_einvoice
        self.clock = clock
        self.payments: dict[str, Payment] = {}
        self.drafts: dict[str, Draft] = {}
        self.expires: dict[str, float] = {}
        self._watching: set[str] = set()
        self._finished: set[str] = set()
        self._completing: dict[str, asyncio.Future[Completed]] = {}

    # -- payments ----------------------------------------------------------------

    async def start(self, payment_id: str, draft: Draft) -> Payment:
        """Create (or find) the payment, lock the basket's stock, watch the payment.
        :class:`PaymentError` (or its :class:`PaymentConflict`) from the provider."""
        known = self.payments.get(payment_id)
        if known is not None:
            return known
        stored = await self.journal.call(lambda c: stored_payment(c, payment_id))
        if stored is not None and stored[0].final:
            self.payments[payment_id], self.drafts[payment_id] = stored
            return stored[0]
        payment = await self.provider.create(
            PaymentRequest(
                id=payment_id,
                amount=draft.total,
                currency=draft.currency,
                description=f"{draft.store} {draft.device or ''}".strip(),
            )
        )
        now = self.clock()
        expires = now + self.timeout_s
        await self.journal.call(lambda c: insert_payment(c, payment, draft, now, expires))
        self.payments[payment_id] = payment
        self.drafts[payment_id] = draft
        self.expires[payment_id] = expires
        if draft.basket is not None:
            await self.stock.lock(draft.basket, draft.quantities(), self.lock_s)
        self._watch(payment_id)
        return payment

    async def charge(self, payment_id: str, draft: Draft, token: str) -> Completed | None:
        """Charge the draft to a payment token (unmanned exits): the sale when it
        succeeded, None when it failed. Idempotent on ``payment_id``."""
        stored = await self.journal.call(lambda c: stored_payment(c, payment_id))
        if stored is not None and stored[0].final:
            payment, draft = stored
            self.payments[payment_id], self.drafts[payment_id] = payment, draft
            if payment.status != "succeeded":
                return None
            return await self.complete(payment, draft)
        request = PaymentRequest(
            id=payment_id,
            amount=draft.total,
            currency=draft.currency,
            description=f"{draft.store} {draft.device or ''}".strip(),
        )
        payment = await self.provider.charge(request, token)
        now = self.clock()
        await self.journal.call(lambda c: insert_payment(c, payment, draft, now, now))
        self.payments[payment_id], self.drafts[payment_id] = payment, draft
        return await self.finish(payment)

    def _watch(self, payment_id: str) -> None:
        if payment_id not in self._watching:
            self._watching.add(payment_id)
            self._spawn(self._follow(payment_id), f"payment:{payment_id}")

    async def _follow(self, payment_id: str) -> None:
        try:
            payment = self.payments[payment_id]
            while not payment.final:
                await asyncio.sleep(self.poll_s)
                try:
                    if self.clock() >= self.expires.get(payment_id, float("inf")):
                        payment = await self.provider.cancel(payment_id)
                        if payment.status == "cancelled":
                            payment = payment.model_copy(update={"status": "expired"})
                    else:
                        payment = await self.provider.query(payment_id)
                except PaymentError as exc:  # the provider is away: keep asking
                    log.warning("payment %s: %s", payment_id, exc)
                    continue
            await self.finish(payment)
        finally:
            self._watching.discard(payment_id)

    async def cancel(self, payment_id: str) -> Payment | None:
        """The shopper (or an abandoned basket) gives up a payment. A payment that
        succeeded meanwhile still becomes a sale."""
        if payment_id not in self.payments or self.payments[payment_id].final:
            return self.payments.get(payment_id)
        try:
            payment = await self.provider.cancel(payment_id)
        except PaymentError as exc:
            log.warning("payment %s not cancelled: %s", payment_id, exc)
            return None
        await self.finish(payment)
        return payment

    async def finish(self, payment: Payment) -> Completed | None:
        """A payment became final: record the sale, or just the outcome (once: the
        watcher and a cancel may both see the end)."""
        if payment.id in self._finished:
            return None
        self._finished.add(payment.id)
        self.payments[payment.id] = payment
        draft = self.drafts[payment.id]
        done = await self.complete(payment, draft) if payment.status == "succeeded" else None
        if done is None:
            await self.journal.call(lambda c: update_payment(c, payment, None, self.clock()))
        await self.on_final(payment, draft, done)
        return done

    # -- sales -------------------------------------------------------------------

    async def complete(self, payment: Payment, draft: Draft) -> Completed:
        """Record the sale of a succeeded payment (once) and settle it. Concurrent calls
        for one payment share one recording."""
        running = self._completing.get(payment.id)
        if running is not None:
            return await asyncio.shield(running)
        future: asyncio.Future[Completed] = asyncio.get_running_loop().create_future()
        self._completing[payment.id] = future
        try:
            result = await self._complete(payment, draft)
            future.set_result(result)
            return result
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning
            raise
        finally:
            self._completing.pop(payment.id, None)

    async def _complete(self, payment: Payment, draft: Draft) -> Completed:
        now = self.clock()
        sale = Sale(
            id=sale_id_for(payment.id, now),
            ts=now,
            store=draft.store,
            device=draft.device,
            member=draft.member,
            currency=draft.currency,
            lines=draft.lines,
            promotions=draft.promotions,
            payment=PaymentInfo(
                id=payment.id, provider=payment.provider, ref=payment.ref, amount=payment.amount
            ),
        )
        receipt = receipt_text(sale)

        def write(conn: sqlite3.Connection) -> tuple[str, bool]:
            sale_id, new = record_sale(conn, sale, receipt)
            update_payment(conn, payment, sale_id, now)
            return sale_id, new

        sale_id, new = await self.journal.call(write)
        stored = await self.journal.call(lambda c: load_sale(c, sale_id))
        assert stored is not None
        sale, receipt = stored
        if new:
            log.info(
                "sale %s: %s %s (payment %s)",
                sale.id,
                sale.money(sale.total),
                sale.currency,
                payment.id,
            )
            await self.settle(sale, draft.basket)
        inv = await self.journal.call(lambda c: einvoice.current(c, sale.id))
        return Completed(sale=sale, receipt=receipt, einvoice=inv.id if inv else None, new=new)

    async def settle(self, sale: Sale, basket: str | None) -> None:
        """Stock, paid tags and the e-invoice of a recorded sale; then mark it settled."""
        qty: dict[str, float] = {}
        for ln in sale.lines:
            units = ln.grams / 1000 if ln.unit == "kg" and ln.grams is not None else ln.qty
            qty[ln.gtin] = qty.get(ln.gtin, 0.0) + units
        await self.stock.sold(basket, qty, reason=f"sale:{sale.id}")
        if self.paid is not None and sale.epcs:
            await self.paid.mark_paid(sale.epcs, sale.id, ts=sale.ts)
        if self.auto_einvoice:
            await self.issue_einvoice(sale.id, buyer=sale.member)
        await self.journal.call(lambda c: mark_settled(c, sale.id))

    async def recover(self) -> None:
        """At start: settle sales a crash left unsettled, and follow pending payments."""
        for sale in await self.journal.call(unsettled):
            log.warning("settling sale %s left unsettled", sale.id)
            await self.settle(sale, None)
        for payment, draft, expires in await self.journal.call(pending_payments):
            self.payments[payment.id], self.drafts[payment.id] = payment, draft
            self.expires[payment.id] = expires
            self._watch(payment.id)

    async def issue_einvoice(self, sale_id: str, buyer: str | None = None) -> Invoice:
        """The sale's e-invoice record (issued once; LookupError for an unknown sale)."""
        now = self.clock()

        def write(conn: sqlite3.Connection) -> Invoice:
            stored = load_sale(conn, sale_id)
            if stored is None:
                raise LookupError(f"no sale {sale_id}")
            return einvoice.issue(conn, stored[0], ts=now, buyer=buyer)[0]

        return await self.journal.call(write)

    async def refund(
        self,
        sale_id: str,
        returned: Mapping[int, int],
        *,
        refund_id: str,
        reason: str = "",
        epcs: list[str] | None = None,
    ) -> einvoice.Refund:
        """Return units of a sale (line index → units). Idempotent on ``refund_id``."""
        now = self.clock()

        def write(conn: sqlite3.Connection) -> tuple[Sale, einvoice.Refund, bool]:
            stored = load_sale(conn, sale_id)
            if stored is None:
                raise LookupError(f"no sale {sale_id}")
            known = conn.execute("SELECT 1 FROM refunds WHERE id = ?", (refund_id,)).fetchone()
            done = einvoice.refund_sale(
                conn, stored[0], returned, refund_id=refund_id, ts=now, reason=reason
            )
            return stored[0], done, known is None

        sale, done, new = await self.journal.call(write)
        await self.provider.refund(sale.payment.id, refund_id, done.amount)
        if new:
            back: dict[str, float] = {}
            tags: list[str] = list(epcs or [])
            for idx, units in returned.items():
                ln = sale.lines[idx]
                back[ln.gtin] = back.get(ln.gtin, 0.0) + (
                    ln.grams / 1000 if ln.unit == "kg" and ln.grams else units
                )
                if epcs is None and ln.epcs:
                    tags += list(ln.epcs[-units:])  # which units went back: the kiosk did not say
            await self.stock.returned(back, reason=f"refund:{refund_id}")
            if self.paid is not None and tags:
                await self.paid.unmark(tags, sale_id=sale.id, reason=f"refund:{refund_id}")
        return done
