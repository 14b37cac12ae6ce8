"""The payments table, and what a payment pays for: its :class:`Draft` sale.

A payment is stored with the draft of the sale it pays for, so that a payment
that succeeds after the basket is gone (abandoned, a restart) still becomes the
right sale.  Functions here run inside the journal writer (``Journal.call``).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from pydantic import BaseModel, ConfigDict

from hub.checkout import einvoice
from hub.checkout.payment import Payment
from hub.checkout.sales import Promo, Sale, SaleLine, load_sale


class Draft(BaseModel):
    """The sale a payment pays for, as priced when the shopper asked to pay."""

    model_config = ConfigDict(frozen=True)

    store: str
    device: str | None
    basket: str | None
    member: str | None
    currency: str
    lines: tuple[SaleLine, ...]
    promotions: tuple[Promo, ...] = ()

    @property
    def total(self) -> int:
        return sum(ln.amount for ln in self.lines)

    def quantities(self) -> dict[str, float]:
        """Units per item for stock (a weighed line counts its kilograms)."""
        out: dict[str, float] = {}
        for ln in self.lines:
            qty = ln.grams / 1000 if ln.unit == "kg" and ln.grams is not None else ln.qty
            out[ln.gtin] = out.get(ln.gtin, 0.0) + qty
        return out


class Completed(BaseModel):
    model_config = ConfigDict(frozen=True)

    sale: Sale
    receipt: str
    einvoice: str | None
    new: bool


def insert_payment(
    conn: sqlite3.Connection, p: Payment, draft: Draft, now: float, expires: float
) -> None:
    conn.execute(
        "INSERT OR IGNORE INTO payments(id, device, basket, provider, amount, currency, status,"
        " qr, ref, error, created, updated, expires, draft) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            p.id,
            draft.device,
            draft.basket or "",
            p.provider,
            p.amount,
            p.currency,
            p.status,
            p.qr,
            p.ref,
            p.error,
            now,
            now,
            expires,
            draft.model_dump_json(),
        ),
    )


def update_payment(conn: sqlite3.Connection, p: Payment, sale_id: str | None, now: float) -> None:
    conn.execute(
        "UPDATE payments SET status=?, ref=?, error=?, updated=?,"
        " sale_id=COALESCE(?, sale_id) WHERE id=?",
        (p.status, p.ref, p.error, now, sale_id, p.id),
    )


def _row_payment(row: Any) -> tuple[Payment, Draft, float]:
    (pid, provider, amount, currency, status, qr, ref, error, draft, expires) = row
    payment = Payment(
        id=pid,
        provider=provider,
        amount=amount,
        currency=currency,
        status=status,
        qr=qr or "",
        ref=ref,
        error=error,
    )
    return payment, Draft.model_validate_json(draft), float(expires)


_COLS = "id, provider, amount, currency, status, qr, ref, error, draft, expires"


def stored_payment(conn: sqlite3.Connection, payment_id: str) -> tuple[Payment, Draft] | None:
    row = conn.execute(f"SELECT {_COLS} FROM payments WHERE id = ?", (payment_id,)).fetchone()
    if row is None:
        return None
    payment, draft, _ = _row_payment(row)
    return payment, draft


def pending_payments(conn: sqlite3.Connection) -> list[tuple[Payment, Draft, float]]:
    rows = conn.execute(f"SELECT {_COLS} FROM payments WHERE status = 'pending'").fetchall()
    return [_row_payment(r) for r in rows]


def sale_of_payment(conn: sqlite3.Connection, payment_id: str) -> str | None:
    row = conn.execute("SELECT id FROM sales WHERE payment_id = ?", (payment_id,)).fetchone()
    return str(row[0]) if row else None


def read_completed(conn: sqlite3.Connection, sale_id: str) -> Completed | None:
    """A recorded sale as the kiosk gets it again (a retried ``pay``)."""
    stored = load_sale(conn, sale_id)
    if stored is None:
        return None
    inv = einvoice.current(conn, sale_id)
    return Completed(sale=stored[0], receipt=stored[1], einvoice=inv.id if inv else None, new=False)
