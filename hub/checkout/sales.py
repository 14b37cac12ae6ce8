"""Sale records: built from a priced basket, stored once per payment, journaled with an
outbox row for the cloud (stream ``sales``), and rendered as a receipt.

"Once per payment" is the database's job: ``sales.payment_id`` is unique and
:func:`record_sale` runs as one journal operation (one savepoint) that inserts
the sale, its journal row and its outbox row together — or finds the sale that
the same payment already made.
"""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict

from hub.journal import Entry, write_entry
from hub.pricing import PricedBasket, format_minor
from hub.pricing.invoice import Invoice, line

SALES_STREAM = "sales"


class Promo(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    amount: int
    type: str = ""


class SaleLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    gtin: str
    name: str
    code: str = ""
    unit: str = "each"
    qty: int = 1
    grams: int | None = None
    unit_price: int
    gross: int
    #: All reductions of the line; ``basket_discount`` is the spend-threshold share of it.
    discount: int = 0
    basket_discount: int = 0
    amount: int
    tax_rate: Decimal
    tax: int
    promotions: tuple[Promo, ...] = ()
    epcs: tuple[str, ...] = ()


class PaymentInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    provider: str
    ref: str | None = None
    amount: int


class Sale(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    ts: float
    store: str
    device: str | None = None
    member: str | None = None
    currency: str
    lines: tuple[SaleLine, ...]
    promotions: tuple[Promo, ...] = ()
    payment: PaymentInfo

    @property
    def subtotal(self) -> int:
        return sum(ln.gross for ln in self.lines)

    @property
    def discount(self) -> int:
        return sum(ln.discount for ln in self.lines)

    @property
    def total(self) -> int:
        return sum(ln.amount for ln in self.lines)

    @property
    def tax(self) -> int:
        return sum(ln.tax for ln in self.lines)

    @property
    def epcs(self) -> list[str]:
        return [e for ln in self.lines for e in ln.epcs]

    def money(self, minor: int) -> str:
        return format_minor(minor, self.currency)

    def record(self) -> dict[str, Any]:
        """The journal / outbox form: money as decimal strings, as on the wire."""
        m = self.money
        return {
            "id": self.id,
            "ts": self.ts,
            "store": self.store,
            "device": self.device,
            "member": self.member,
            "currency": self.currency,
            "lines": [
                {
                    "gtin": ln.gtin,
                    "name": ln.name,
                    "code": ln.code,
                    "unit": ln.unit,
                    "qty": ln.qty,
                    "grams": ln.grams,
                    "unit_price": m(ln.unit_price),
                    "gross": m(ln.gross),
                    "discount": m(ln.discount),
                    "basket_discount": m(ln.basket_discount),
                    "amount": m(ln.amount),
                    "tax_rate": str(ln.tax_rate),
                    "tax": m(ln.tax),
                    "promotions": [
                        {"id": p.id, "name": p.name, "amount": m(p.amount)} for p in ln.promotions
                    ],
                    "epcs": list(ln.epcs),
                }
                for ln in self.lines
            ],
            "promotions": [
                {"id": p.id, "name": p.name, "type": p.type, "amount": m(p.amount)}
                for p in self.promotions
            ],
            "subtotal": m(self.subtotal),
            "discount": m(self.discount),
            "total": m(self.total),
            "tax": m(self.tax),
            "payment": {
                "id": self.payment.id,
                "provider": self.payment.provider,
                "ref": self.payment.ref,
                "amount": m(self.payment.amount),
            },
        }


def sale_lines(basket: PricedBasket) -> tuple[tuple[SaleLine, ...], tuple[Promo, ...]]:
    """The lines and promotions of a sale, from the basket priced at the time of sale."""
    spend = {p.id for p in basket.applied if p.type == "spend_threshold"}
    lines = tuple(
        SaleLine(
            gtin=ln.item.gtin,
            name=ln.item.name,
            code=ln.item.code,
            unit=ln.item.unit.value,
            qty=ln.item.qty,
            grams=ln.item.grams,
            unit_price=ln.item.unit_price,
            gross=ln.gross,
            discount=ln.discount,
            basket_discount=sum(a.amount for a in ln.adjustments if a.promotion in spend),
            amount=ln.amount,
            tax_rate=ln.item.tax_rate,
            tax=ln.tax,
            promotions=tuple(
                Promo(id=a.promotion, name=a.name, amount=a.amount) for a in ln.adjustments
            ),
            epcs=ln.item.epcs,
        )
        for ln in basket.lines
    )
    promos = tuple(
        Promo(id=p.id, name=p.name, amount=p.amount, type=p.type) for p in basket.applied
    )
    return lines, promos


def invoice_for(sale: Sale, *, id: str, ts: float, buyer: str | None = None) -> Invoice:
    """The blue e-invoice of a sale: item promotions lower the line's price, and the
    whole-basket discount is shown per line as pricing allocated it."""
    lines = tuple(
        line(
            ln.name,
            ln.amount + ln.basket_discount,
            ln.tax_rate,
            discount=ln.basket_discount,
            gtin=ln.gtin,
            qty=ln.qty,
            grams=ln.grams,
        )
        for ln in sale.lines
    )
    return Invoice(id=id, sale=sale.id, currency=sale.currency, ts=ts, buyer=buyer, lines=lines)


def receipt_text(sale: Sale, *, store_name: str = "", width: int = 40) -> str:
    """A plain-text receipt (what the kiosk prints or shows)."""
    m = sale.money

    def row(left: str, right: str) -> str:
        room = max(width - len(right) - 1, 1)
        return f"{left[:room]:<{room}} {right}"

    out = [store_name.center(width).rstrip()] if store_name else []
    out += [f"Sale {sale.id}", _time(sale.ts), "-" * width]
    for ln in sale.lines:
        qty = f"{ln.grams} g" if ln.grams is not None else f"{ln.qty} x {m(ln.unit_price)}"
        out.append(row(ln.name, m(ln.gross)))
        out.append(f"  {qty}")
        out += [row(f"  {p.name}", f"-{m(p.amount)}") for p in ln.promotions]
    out.append("-" * width)
    out.append(row("Subtotal", m(sale.subtotal)))
    if sale.discount:
        out.append(row("Savings", f"-{m(sale.discount)}"))
    out.append(row(f"TOTAL {sale.currency}", m(sale.total)))
    out.append(row("  incl. tax", m(sale.tax)))
    paid = f"Paid ({sale.payment.provider})"
    out.append(row(paid, m(sale.payment.amount)))
    if sale.payment.ref:
        out.append(f"  ref {sale.payment.ref}")
    if sale.member:
        out.append(f"Member {sale.member}")
    out.append("Thank you!".center(width).rstrip())
    return "\n".join(out)


def _time(ts: float) -> str:
    import time

    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


# -- storage (run inside the journal's writer: Journal.call) ---------------------


def journal_row(
    conn: sqlite3.Connection,
    *,
    type: str,
    ts: float,
    device: str | None,
    name: str,
    data: str,
    stream: str | None,
) -> int:
    """A journal row, and its outbox row, inside the caller's transaction: a sale must
    land in the same savepoint as its journal row."""
    entry = Entry(type=type, ts=ts, received=ts, device=device, name=name, data=data, stream=stream)
    return int(write_entry(conn, entry) or 0)


def record_sale(conn: sqlite3.Connection, sale: Sale, receipt: str) -> tuple[str, bool]:
    """Store a sale once per payment: returns (sale id, whether it is new)."""
    found = conn.execute("SELECT id FROM sales WHERE payment_id = ?", (sale.payment.id,)).fetchone()
    if found is not None:
        return str(found[0]), False
    data = json.dumps(sale.record(), separators=(",", ":"))
    jid = journal_row(
        conn,
        type="sale",
        ts=sale.ts,
        device=sale.device,
        name="sale",
        data=data,
        stream=SALES_STREAM,
    )
    conn.execute(
        "INSERT INTO sales(id, payment_id, ts, device, member, currency, total, data, receipt,"
        " journal_id, settled) VALUES (?,?,?,?,?,?,?,?,?,?,0)",
        (
            sale.id,
            sale.payment.id,
            sale.ts,
            sale.device,
            sale.member,
            sale.currency,
            sale.total,
            sale.model_dump_json(),
            receipt,
            jid,
        ),
    )
    return sale.id, True


def mark_settled(conn: sqlite3.Connection, sale_id: str) -> None:
    conn.execute("UPDATE sales SET settled = 1 WHERE id = ?", (sale_id,))


def load_sale(conn: sqlite3.Connection, sale_id: str) -> tuple[Sale, str] | None:
    """A stored sale and its receipt text."""
    row = conn.execute("SELECT data, receipt FROM sales WHERE id = ?", (sale_id,)).fetchone()
    if row is None:
        return None
    return Sale.model_validate_json(row[0]), str(row[1])


def unsettled(conn: sqlite3.Connection) -> list[Sale]:
    rows = conn.execute("SELECT data FROM sales WHERE settled = 0 ORDER BY ts").fetchall()
    return [Sale.model_validate_json(r[0]) for r in rows]


def list_sales(
    conn: sqlite3.Connection, *, limit: int = 50, device: str | None = None
) -> list[dict[str, Any]]:
    where, args = "", []
    if device is not None:
        where, args = "WHERE device = ?", [device]
    rows = conn.execute(
        f"SELECT id, ts, device, member, currency, total, payment_id FROM sales {where}"
        " ORDER BY ts DESC LIMIT ?",
        (*args, limit),
    ).fetchall()
    return [
        {
            "id": r[0],
            "ts": r[1],
            "device": r[2],
            "member": r[3],
            "currency": r[4],
            "total": format_minor(r[5], r[4]),
            "payment": r[6],
        }
        for r in rows
    ]
