"""What the kiosk shows: the arguments of its ``basket``, ``payment`` and ``receipt``
commands (devices/kiosk/codec.py), built from checkout's values. Pure."""

from __future__ import annotations

from typing import Any

from hub.checkout.ledger import Completed
from hub.checkout.payment import Payment
from hub.pricing import PricedBasket, format_minor


def basket_args(b: PricedBasket, numbers: list[int]) -> dict[str, Any]:
    """``numbers``: the line number the kiosk shows for each priced line (staff void by it)."""
    f = b.fmt
    lines = [
        {
            "line": number,
            "code": ln.item.code,
            "name": ln.item.name,
            "qty": float(ln.item.qty),
            "grams": ln.item.grams,
            "amount": f(ln.amount),
            "unit_price": f(ln.item.unit_price),
            "discount": f(ln.discount),
        }
        for ln, number in zip(b.lines, numbers, strict=True)
    ]
    return {
        "lines": lines,
        "subtotal": f(b.subtotal),
        "discount": f(b.discount),
        "total": f(b.total),
        "tax": f(b.tax),
        "currency": b.currency,
        "member": b.member,
        "promotions": [{"name": p.name, "amount": f(p.amount)} for p in b.applied],
    }


def payment_args(p: Payment, pay_before: float | None) -> dict[str, Any]:
    pending = p.status == "pending"
    return {
        "payment_id": p.id,
        "status": p.status,
        "amount": format_minor(p.amount, p.currency),
        "currency": p.currency,
        "qr": p.qr if pending else None,
        "pay_before": pay_before if pending else None,
    }


def receipt_args(done: Completed) -> dict[str, Any]:
    return {
        "sale": done.sale.id,
        "text": done.receipt,
        "einvoice": done.einvoice,
        "total": done.sale.money(done.sale.total),
    }
