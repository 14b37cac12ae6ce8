"""The ``storehub`` command (typer + rich)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import time
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from hub import queries
from hub.cli_support import ConfigOpt, DataOpt
from hub.cli_support import cli_config as _config
from hub.cli_support import reader as _db
from hub.cli_support import when as _when
from hub.errors import HubError
from hub.logs import setup_logging

app = typer.Typer(help="storehub — the in-store edge hub.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)


def _run_async(main: Any) -> None:
    """Run a coroutine, turning SIGTERM/SIGINT into a clean shutdown."""

    async def runner() -> None:
        task = asyncio.ensure_future(main)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await task

    try:
        asyncio.run(runner())
    except HubError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None


@app.command()
def run(config: ConfigOpt = None, data_dir: DataOpt = None) -> None:
    """Run the hub (managed Mosquitto unless STOREHUB_BROKER_URL is set)."""
    cfg = _config(config, data_dir)
    setup_logging(cfg.log_level)
    from hub.runtime import serve

    _run_async(serve(cfg, console=console if console.is_terminal else None))


@app.command()
def demo(
    config: ConfigOpt = None,
    data_dir: DataOpt = None,
    rate: Annotated[float, typer.Option(help="Simulated events per second per device")] = 0.5,
    seed: Annotated[int | None, typer.Option(help="Random seed of the scenario")] = None,
) -> None:
    """The demo store: hub + managed broker + simulators for every device + store API."""
    cfg = _config(config, data_dir)
    setup_logging("WARNING" if console.is_terminal else cfg.log_level)
    from hub.runtime import serve

    _run_async(serve(cfg, console=console, simulate=True, rate=rate, seed=seed))


@app.command()
def simulate(
    config: ConfigOpt = None,
    data_dir: DataOpt = None,
    scenario: Annotated[
        str, typer.Option(help="'random' or a scenario file (TOML/JSON, see docs/simulators.md)")
    ] = "random",
    duration: Annotated[
        float | None, typer.Option(help="Seconds to run (default: forever)")
    ] = None,
    rate: Annotated[float, typer.Option(help="Random events per second per device")] = 1.0,
    seed: Annotated[int | None, typer.Option(help="Random seed")] = None,
    device: Annotated[list[str] | None, typer.Option(help="Only these devices")] = None,
) -> None:
    """Run device simulators against a running hub's broker."""
    cfg = _config(config, data_dir)
    setup_logging(cfg.log_level)
    from simulators.runner import run_simulation

    _run_async(
        run_simulation(
            cfg,
            scenario=scenario,
            duration=duration,
            rate=rate,
            seed=seed,
            only=device or None,
            console=console,
        )
    )


@app.command()
def devices(
    config: ConfigOpt = None,
    data_dir: DataOpt = None,
    secrets: Annotated[bool, typer.Option(help="Show MQTT credentials (managed broker)")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output")] = False,
) -> None:
    """List devices with their presence."""
    cfg = _config(config, data_dir)
    with _db(cfg) as db:
        rows = queries.devices(db)
    if secrets:
        from hub.secrets import load_secrets

        creds = load_secrets(cfg.data_dir, cfg.store.devices)
        for row in rows:
            row["password"] = creds[row["id"]].password if row["id"] in creds else None
    if as_json:
        console.print_json(json.dumps(rows))
        return
    table = Table(title=f"devices of store {cfg.store_id}")
    for col in ("id", "kind", "zone", "presence", "since", "last seen", "model", "fw"):
        table.add_column(col)
    if secrets:
        table.add_column("password")
    for row in rows:
        presence = {None: "[dim]never seen[/]", 1: "[green]online[/]", 0: "[red]offline[/]"}[
            row["online"]
        ]
        if row["online"] == 0 and row["may_sleep"]:
            presence = "[yellow]asleep[/]"
        cells = [
            row["id"],
            row["kind"],
            row["zone"] or "",
            presence,
            _when(row["since"]),
            _when(row["last_seen"]),
            row["model"] or "",
            row["fw"] or "",
        ]
        if secrets:
            cells.append(str(row.get("password") or ""))
        table.add_row(*cells)
    console.print(table)


@app.command()
def events(
    config: ConfigOpt = None,
    data_dir: DataOpt = None,
    device: Annotated[str | None, typer.Option(help="Only this device")] = None,
    type: Annotated[str | None, typer.Option(help="event, state, command, reply or alert")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many to show")] = 20,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep tailing")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line")] = False,
) -> None:
    """Tail the journal."""
    cfg = _config(config, data_dir)
    with _db(cfg) as db:
        rows = queries.journal(db, device=device, type=type, limit=limit, newest_first=True)
        rows.reverse()
        last = rows[-1]["id"] if rows else 0
        _print_events(rows, as_json)
        while follow:
            time.sleep(0.5)
            rows = queries.journal(db, after_id=last, device=device, type=type, limit=500)
            if rows:
                last = rows[-1]["id"]
                _print_events(rows, as_json)


def _print_events(rows: list[dict[str, Any]], as_json: bool) -> None:
    for row in rows:
        if as_json:
            print(json.dumps(row), flush=True)
            continue
        data = json.dumps(row["data"], ensure_ascii=False)
        if len(data) > 120:
            data = data[:117] + "..."
        seq = f"#{row['seq']}" if row["seq"] is not None else ""
        console.print(
            f"[dim]{_when(row['received'])}[/] [cyan]{row['type']:<7}[/] "
            f"[bold]{row['device'] or '-'}[/] {row['name'] or ''}{seq} {data}",
            highlight=False,
            soft_wrap=True,
        )


@app.command()
def deadletter(
    config: ConfigOpt = None,
    data_dir: DataOpt = None,
    device: Annotated[str | None, typer.Option(help="Only this device")] = None,
    reason: Annotated[str | None, typer.Option(help="Only this reason")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n")] = 20,
    summary: Annotated[bool, typer.Option(help="Counts per device and reason")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show rejected (dead-lettered) messages."""
    cfg = _config(config, data_dir)
    with _db(cfg) as db:
        if summary:
            rows = queries.deadletter_counts(db)
        else:
            rows = queries.deadletters(db, device=device, reason=reason, limit=limit)
    if as_json:
        console.print_json(json.dumps(rows))
        return
    table = Table(title="dead letters" + (" (counts)" if summary else ""))
    cols = (
        ["device", "reason", "count", "last"]
        if summary
        else ["time", "device", "reason", "detail", "topic", "size", "first bytes"]
    )
    for col in cols:
        table.add_column(col, overflow="fold")
    for row in rows:
        if summary:
            table.add_row(
                row["device"] or "?", row["reason"], str(row["count"]), _when(row["last"])
            )
        else:
            table.add_row(
                _when(row["ts"]),
                row["device"] or "?",
                row["reason"],
                row["detail"],
                row["topic"],
                str(row["size"]),
                row["head"][:60],
            )
    console.print(table)


@app.command("check-config")
def check_config(config: ConfigOpt = None) -> None:
    """Validate a store config file and print what it defines."""
    cfg = _config(config, None)
    console.print(
        f"[green]ok[/] {cfg.source}: store {cfg.store_id}, {len(cfg.store.devices)} devices"
    )
    for d in cfg.store.devices:
        console.print(f"  {d.id:<16} {d.kind:<10} zone={d.zone or '-'}")


# Command groups of the capabilities that plug into the hub; an optional one whose
# package is not installed (e.g. the vision extra) is left out.
_GROUPS: list[tuple[str, str, str]] = [
    ("", "rules.gate_cli", ""),  # `storehub traffic`, `storehub paid ...`
    ("rules", "rules.cli", "Declarative rules: check, test, list."),
    ("esl", "hub.esl.cli", "Electronic shelf labels: price pushes, labels, previews."),
    ("token", "store_api.cli", "Store API bearer tokens."),
    ("sync", "hub.sync.cli", "Cloud sync status."),
    ("sales", "hub.checkout.cli", "Kiosk sales, receipts and e-invoices."),
    ("vision", "vision.cli", "Cameras: training, enrolment, evaluation (vision extra)."),
]
#: Groups whose dependencies are an optional extra: left out when not installed.
_OPTIONAL = {"vision"}


def _mount_groups() -> None:
    import importlib
    import importlib.util

    for name, module, help_text in _GROUPS:
        if importlib.util.find_spec(module.rpartition(".")[0]) is None:
            continue
        try:
            group = importlib.import_module(module).app
        except ModuleNotFoundError:
            if name in _OPTIONAL:
                continue
            raise
        if name:
            app.add_typer(group, name=name, help=help_text)
        else:
            app.add_typer(group)


_mount_groups()


if __name__ == "__main__":  # pragma: no cover
    app()
