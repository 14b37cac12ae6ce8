"""``storehub paid ...`` and ``storehub traffic``: the paid registry and footfall.

A typer app meant to be merged into the ``storehub`` command
(``app.add_typer(rules.gate_cli.app)`` adds ``paid`` and ``traffic``).

Reads use read-only connections and are safe beside a running hub.  ``paid mark``
and ``paid unmark`` write, and a running hub keeps the registry in memory, so
they only run with ``--offline`` (the hub stopped); a running hub takes sales
through the kiosk and the store API.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table

from hub import traffic as traffic_query
from hub.cli_support import ConfigOpt, DataOpt, JsonOpt
from hub.cli_support import cli_config as _config
from hub.cli_support import reader as _db
from hub.cli_support import when as _when
from hub.config import HubConfig
from hub.db import db_path
from hub.journal import Journal
from hub.paid import EpcError, PaidRegistry, history, normalise_epc

app = typer.Typer(help="RFID gates: paid tags and footfall.", no_args_is_help=True)
paid_app = typer.Typer(
    help="The paid registry: which RFID tags (EPCs) a sale has paid for.", no_args_is_help=True
)
app.add_typer(paid_app, name="paid")

console = Console()
err = Console(stderr=True)

OFFLINE_HELP = "The hub is stopped: write the database directly"


def _epcs(values: list[str]) -> list[str]:
    try:
        return [normalise_epc(v) for v in values]
    except EpcError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None


# -- paid ------------------------------------------------------------------------


@paid_app.command("check")
def paid_check(
    epcs: Annotated[list[str], typer.Argument(help="EPCs (hex)")],
    config: ConfigOpt = None,
    data_dir: DataOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Whether tags are paid, and by which sale. Exit status 1 if any is not."""
    cfg = _config(config, data_dir)
    wanted = _epcs(epcs)
    with _db(cfg) as db:
        rows = {
            r["epc"]: dict(r)
            for r in db.execute(
                f"SELECT epc, sale_id, ts FROM paid WHERE epc IN ({','.join('?' * len(wanted))})",
                wanted,
            )
        }
    result = [{"epc": e, "paid": e in rows, **rows.get(e, {})} for e in wanted]
    if as_json:
        console.print_json(json.dumps(result))
    else:
        for r in result:
            state = (
                f"[green]paid[/] by {r['sale_id']} at {_when(r['ts'])}"
                if r["paid"]
                else ("[red]not paid[/]")
            )
            console.print(f"{r['epc']}  {state}")
    if not all(r["paid"] for r in result):
        raise typer.Exit(1)


@paid_app.command("list")
def paid_list(
    sale: Annotated[str | None, typer.Option(help="Only this sale")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n")] = 50,
    config: ConfigOpt = None,
    data_dir: DataOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """EPCs marked paid, newest first."""
    cfg = _config(config, data_dir)
    with _db(cfg) as db:
        where, args = ("WHERE sale_id = ?", [sale]) if sale else ("", [])
        rows = [
            dict(r)
            for r in db.execute(
                f"SELECT epc, sale_id, ts FROM paid {where} ORDER BY ts DESC LIMIT ?",
                (*args, limit),
            )
        ]
    if as_json:
        console.print_json(json.dumps(rows))
        return
    table = Table(title="paid tags")
    for col in ("epc", "sale", "paid at"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["epc"], r["sale_id"], _when(r["ts"]))
    console.print(table)


@paid_app.command("history")
def paid_history(
    epc: Annotated[str | None, typer.Option(help="Only this EPC")] = None,
    sale: Annotated[str | None, typer.Option(help="Only this sale")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n")] = 50,
    config: ConfigOpt = None,
    data_dir: DataOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Paid / unpaid changes (sales, refunds, voids), newest first."""
    cfg = _config(config, data_dir)
    if epc is not None:
        epc = _epcs([epc])[0]
    with _db(cfg) as db:
        rows = history(db, epc=epc, sale_id=sale, limit=limit)
    if as_json:
        console.print_json(json.dumps(rows))
        return
    table = Table(title="paid history")
    for col in ("time", "epc", "sale", "action", "reason"):
        table.add_column(col)
    for r in rows:
        table.add_row(_when(r["ts"]), r["epc"], r["sale_id"] or "", r["action"], r["reason"] or "")
    console.print(table)


def _offline_only(offline: bool) -> None:
    if not offline:
        err.print(
            "[red]error:[/] a running hub keeps the paid registry in memory: take sales through"
            " the kiosk or the store API. With the hub stopped, pass --offline."
        )
        raise typer.Exit(2)


async def _with_registry(cfg: HubConfig, job: Any) -> list[str]:
    journal = Journal(db_path(cfg.data_dir))
    await journal.open()
    writer = asyncio.create_task(journal.run())
    try:
        registry = PaidRegistry(journal)
        await registry.load()
        result: list[str] = await job(registry)
        return result
    finally:
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer
        journal.close()


@paid_app.command("mark")
def paid_mark(
    epcs: Annotated[list[str], typer.Argument(help="EPCs (hex)")],
    sale: Annotated[str, typer.Option(help="The sale that paid them")],
    offline: Annotated[bool, typer.Option(help=OFFLINE_HELP)] = False,
    config: ConfigOpt = None,
    data_dir: DataOpt = None,
) -> None:
    """Mark tags paid by a sale (hub stopped: --offline)."""
    _offline_only(offline)
    cfg = _config(config, data_dir)
    wanted = _epcs(epcs)
    done = asyncio.run(_with_registry(cfg, lambda r: r.mark_paid(wanted, sale)))
    console.print(f"marked {len(done)} tag(s) paid by {sale}")


@paid_app.command("unmark")
def paid_unmark(
    epcs: Annotated[
        list[str] | None, typer.Argument(help="EPCs (hex); none: the whole sale")
    ] = None,
    sale: Annotated[str | None, typer.Option(help="The sale (a void, or a partial return)")] = None,
    reason: Annotated[str, typer.Option(help="refund, void, ...")] = "refund",
    offline: Annotated[bool, typer.Option(help=OFFLINE_HELP)] = False,
    config: ConfigOpt = None,
    data_dir: DataOpt = None,
) -> None:
    """Un-mark tags (a refund or a void) so they alarm again (hub stopped: --offline)."""
    _offline_only(offline)
    if not epcs and sale is None:
        err.print("[red]error:[/] give EPCs, --sale, or both")
        raise typer.Exit(2)
    cfg = _config(config, data_dir)
    wanted = _epcs(epcs) if epcs else None
    done = asyncio.run(_with_registry(cfg, lambda r: r.unmark(wanted, sale_id=sale, reason=reason)))
    console.print(f"un-marked {len(done)} tag(s)")


# -- traffic ---------------------------------------------------------------------


def _moment(text: str, zone: ZoneInfo) -> float:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        err.print(f"[red]error:[/] {text!r} is not a date or time (YYYY-MM-DD[THH:MM])")
        raise typer.Exit(2) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.timestamp()


@app.command("traffic")
def traffic(
    hours: Annotated[int, typer.Option(help="The last N hours (unless --since)")] = 24,
    since: Annotated[str | None, typer.Option(help="From (store time), e.g. 2025-03-01")] = None,
    until: Annotated[str | None, typer.Option(help="Until (store time), exclusive")] = None,
    door: Annotated[list[str] | None, typer.Option(help="Only these doors")] = None,
    config: ConfigOpt = None,
    data_dir: DataOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Entries and exits per door per hour, from the doors' passage events."""
    cfg = _config(config, data_dir)
    zone = ZoneInfo(cfg.store.store.timezone)
    start = _moment(since, zone) if since else time.time() - hours * 3600
    end = _moment(until, zone) if until else None
    with _db(cfg) as db:
        counts = traffic_query.hourly(db, since=start, until=end, doors=door, tz=zone)
    if as_json:
        rows = [
            {"door": c.door, "hour": c.hour.isoformat(), "entries": c.entries, "exits": c.exits}
            for c in counts
        ]
        console.print_json(json.dumps(rows))
        return
    table = Table(title=f"footfall of store {cfg.store_id} ({zone.key})")
    for col, justify in (("hour", "left"), ("door", "left"), ("in", "right"), ("out", "right")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for c in counts:
        table.add_row(c.hour.strftime("%Y-%m-%d %H:00"), c.door, str(c.entries), str(c.exits))
    for name, (entries, exits) in sorted(traffic_query.totals(counts).items()):
        table.add_row("[bold]total[/]", name, f"[bold]{entries}[/]", f"[bold]{exits}[/]")
    console.print(table)
