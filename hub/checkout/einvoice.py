"""E-invoice records of sales, and refunds: a red (reversing) record plus a new blue one.

An e-invoice record is issued once per sale (idempotent: asking again returns
the current one); a return reverses the current blue record in full (red) and
issues a new blue record for what the shopper kept, so at any time a sale has
exactly one current blue record — or none after a full return.  Records are
journaled with an outbox row (stream ``einvoices``) for the cloud's tax
platform connector; refunds also go to the ``sales`` stream.

The functions here run inside the journal writer (``Journal.call``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict

from hub.checkout.sales import SALES_STREAM, Sale, invoice_for, journal_row
from hub.pricing.invoice import Invoice, refund

EINVOICE_STREAM = "einvoices"


class Refund(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    sale: str
    ts: float
    #: Line index → units returned.
    returned: dict[int, int]
    amount: int
    currency: str
    red: str
    replacement: str | None
    reason: str = ""


def _store(conn: sqlite3.Connection, inv: Invoice, device: str | None) -> None:
    data = json.dumps(inv.record(), separators=(",", ":"))
    conn.execute(
        "INSERT INTO einvoices(id, sale_id, kind, refers, ts, total, data, current)"
        " VALUES (?,?,?,?,?,?,?,?)",
        (
            inv.id,
            inv.sale,
            inv.kind,
            inv.refers,
            inv.ts,
            inv.total,
            inv.model_dump_json(),
            1 if inv.kind == "blue" else 0,
        ),
    )
    journal_row(
        conn,
        type="einvoice",
        ts=inv.ts,
        device=device,
        name=inv.kind,
        data=data,
        stream=EINVOICE_STREAM,
    )


def current(conn: sqlite3.Connection, sale_id: str) -> Invoice | None:
    row = conn.execute(
        "SELECT data FROM einvoices WHERE sale_id = ? AND current = 1", (sale_id,)
    ).fetchone()
    return Invoice.model_validate_json(row[0]) if row else None


def history(conn: sqlite3.Connection, sale_id: str) -> list[Invoice]:
    rows = conn.execute(
        "SELECT data FROM einvoices WHERE sale_id = ? ORDER BY ts, rowid", (sale_id,)
    ).fetchall()
    return [Invoice.model_validate_json(r[0]) for r in rows]


def _next_ids(conn: sqlite3.Connection, sale_id: str) -> tuple[str, str]:
    """Ids of the next red and blue records: ``{sale}-R{n}``, ``{sale}-B{n}``."""
    counts = dict(
        conn.execute(
            "SELECT kind, COUNT(*) FROM einvoices WHERE sale_id = ? GROUP BY kind", (sale_id,)
        ).fetchall()
    )
    return f"{sale_id}-R{counts.get('red', 0) + 1}", f"{sale_id}-B{counts.get('blue', 0) + 1}"


def issue(
    conn: sqlite3.Connection, sale: Sale, *, ts: float, buyer: str | None = None
) -> tuple[Invoice, bool]:
    """The sale's blue record: the current one, or a new one (``{sale}-B1``).
    A different ``buyer`` (a company title asked for after the personal record was
    issued) reverses the current record and issues it again for that buyer.
    Returns (record, whether it is new)."""
    existing = current(conn, sale.id)
    if existing is not None:
        if buyer is None or buyer == existing.buyer:
            return existing, False
        red_id, blue_id = _next_ids(conn, sale.id)
        red, again = refund(existing, {}, red_id=red_id, new_id=blue_id, ts=ts)
        assert again is not None  # nothing returned: everything kept
        conn.execute("UPDATE einvoices SET current = 0 WHERE id = ?", (existing.id,))
        _store(conn, red, sale.device)
        again = again.model_copy(update={"buyer": buyer})
        _store(conn, again, sale.device)
        return again, True
    done = conn.execute("SELECT 1 FROM einvoices WHERE sale_id = ?", (sale.id,)).fetchone()
    if done is not None:  # fully returned: there is nothing left to invoice
        raise LookupError(f"sale {sale.id} was returned in full")
    inv = invoice_for(sale, id=f"{sale.id}-B1", ts=ts, buyer=buyer)
    _store(conn, inv, sale.device)
    return inv, True


def refund_sale(
    conn: sqlite3.Connection,
    sale: Sale,
    returned: Mapping[int, int],
    *,
    refund_id: str,
    ts: float,
    reason: str = "",
) -> Refund:
    """Record a (partial) return: red record, replacement, refund row (idempotent on
    ``refund_id``). The sale must have a current blue record (issued if missing)."""
    row = conn.execute("SELECT data FROM refunds WHERE id = ?", (refund_id,)).fetchone()
    if row is not None:
        return Refund.model_validate_json(row[0])
    original, _ = issue(conn, sale, ts=ts)
    red_id, blue_id = _next_ids(conn, sale.id)  # B1, then R1 + B2, then R2 + B3, ...
    red, new = refund(original, returned, red_id=red_id, new_id=blue_id, ts=ts)
    conn.execute("UPDATE einvoices SET current = 0 WHERE id = ?", (original.id,))
    _store(conn, red, sale.device)
    if new is not None:
        _store(conn, new, sale.device)
    amount = original.total - (new.total if new is not None else 0)
    done = Refund(
        id=refund_id,
        sale=sale.id,
        ts=ts,
        returned=dict(returned),
        amount=amount,
        currency=sale.currency,
        red=red.id,
        replacement=new.id if new else None,
        reason=reason,
    )
    conn.execute(
        "INSERT INTO refunds(id, sale_id, ts, amount, data) VALUES (?,?,?,?,?)",
        (refund_id, sale.id, ts, amount, done.model_dump_json()),
    )
    journal_row(
        conn,
        type="refund",
        ts=ts,
        device=sale.device,
        name="refund",
        data=done.model_dump_json(),
        stream=SALES_STREAM,
    )
    return done
