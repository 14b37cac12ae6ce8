"""``storehub sales``: sales, receipts and e-invoice records, read from the hub's database.

Read-only (safe beside a running hub).  Refunds change money and tags, so they go
through the running hub (``hub.checkout.service.service(hub).cashier.refund``).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from hub.checkout import einvoice
from hub.checkout.sales import list_sales, load_sale
from hub.cli_support import ConfigOpt, DataOpt
from hub.config import EnvSettings, load_config
from hub.db import connect_reader, db_path
from hub.errors import HubError
from hub.pricing import format_minor

app = typer.Typer(help="Sales, receipts and e-invoice records.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@contextlib.contextmanager
def _db(config: Path | None, data_dir: Path | None) -> Iterator[sqlite3.Connection]:
    overrides: dict[str, Any] = {}
    if config is not None:
        overrides["config"] = config
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    try:
        cfg = load_config(EnvSettings(**overrides) if overrides else None)
    except HubError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    path = db_path(cfg.data_dir)
    if not path.exists():
        err.print(f"[red]error:[/] no hub database at {path}")
        raise typer.Exit(2)
    conn = connect_reader(path)
    try:
        yield conn
    finally:
        conn.close()


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


@app.command("list")
def list_(
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 20,
    device: Annotated[str | None, typer.Option(help="Only this kiosk.")] = None,
    config: ConfigOpt = None,
    data_dir: DataOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The latest sales."""
    with _db(config, data_dir) as db:
        found = list_sales(db, limit=limit, device=device)
    if as_json:
        print(json.dumps(found))
        return
    table = Table("sale", "time", "device", "member", "total", "payment")
    for s in found:
        table.add_row(
            s["id"],
            _when(s["ts"]),
            s["device"] or "—",
            s["member"] or "—",
            f"{s['total']} {s['currency']}",
            s["payment"],
        )
    console.print(table)


@app.command()
def show(
    sale_id: Annotated[str, typer.Argument(help="The sale id (on the receipt).")],
    config: ConfigOpt = None,
    data_dir: DataOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """One sale: its lines, promotions, tax and payment, and its receipt."""
    with _db(config, data_dir) as db:
        stored = load_sale(db, sale_id)
    if stored is None:
        err.print(f"[red]error:[/] no sale {sale_id}")
        raise typer.Exit(1)
    sale, receipt = stored
    if as_json:
        print(json.dumps({**sale.record(), "receipt": receipt}))
        return
    m = sale.money
    table = Table(
        "item",
        "qty",
        "gross",
        "discount",
        "amount",
        "tax rate",
        "tax",
        title=f"Sale {sale.id} — {_when(sale.ts)} — {sale.device or ''}",
    )
    for ln in sale.lines:
        qty = f"{ln.grams} g" if ln.grams is not None else str(ln.qty)
        table.add_row(
            ln.name, qty, m(ln.gross), m(ln.discount), m(ln.amount), str(ln.tax_rate), m(ln.tax)
        )
    console.print(table)
    console.print(
        f"total {m(sale.total)} {sale.currency}, tax {m(sale.tax)}, paid by "
        f"{sale.payment.provider} ({sale.payment.id})"
    )
    console.print(receipt, markup=False, highlight=False)


@app.command("einvoice")
def einvoice_(
    sale_id: Annotated[str, typer.Argument(help="The sale id.")],
    config: ConfigOpt = None,
    data_dir: DataOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The e-invoice records of a sale, blue and red, oldest first."""
    with _db(config, data_dir) as db:
        records = einvoice.history(db, sale_id)
    if not records:
        err.print(f"[red]error:[/] no e-invoice record for sale {sale_id}")
        raise typer.Exit(1)
    if as_json:
        print(json.dumps([r.record() for r in records]))
        return
    for inv in records:

        def f(minor: int, currency: str = inv.currency) -> str:
            return format_minor(minor, currency)

        table = Table(
            "item",
            "qty",
            "rate",
            "gross",
            "discount",
            "amount",
            "excl. tax",
            "tax",
            title=f"{inv.kind.upper()} {inv.id}"
            + (f" (refers to {inv.refers})" if inv.refers else ""),
        )
        for ln in inv.lines:
            table.add_row(
                ln.name,
                str(ln.qty),
                str(ln.tax_rate),
                f(ln.gross),
                f(ln.discount),
                f(ln.amount),
                f(ln.amount_excluding_tax),
                f(ln.tax),
            )
        table.add_row(
            "total", "", "", "", "", f(inv.total), f(inv.total_excluding_tax), f(inv.total_tax)
        )
        console.print(table)
