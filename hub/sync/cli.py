"""``storehub sync …``: status (read-only, no hub needed), push-now, quarantine (list,
retry)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hub.cli_support import ConfigOpt, DataOpt, JsonOpt
from hub.cli_support import cli_config as _config
from hub.cli_support import db_file as _db_file
from hub.config import HubConfig
from hub.db import connect_reader
from hub.errors import HubError
from hub.journal import Journal
from hub.sync import store
from hub.sync.alerting import LogAlerts
from hub.sync.inbox import Inbox
from hub.sync.metrics import SyncMetrics
from hub.sync.quarantine import Retried
from hub.sync.service import Sync, build_adapters
from hub.sync.status import SyncStatus, read_status

app = typer.Typer(help="Cloud sync: outbox to the cloud, HQ's changes back.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)


def _ago(ts: float | None, now: float) -> str:
    if ts is None:
        return "never"
    return f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(ts))} ({_span(now - ts)} ago)"


def _span(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


@app.command()
def status(config: ConfigOpt = None, data_dir: DataOpt = None, as_json: JsonOpt = False) -> None:
    """Pending rows, lag and budget per stream; last upload; inbox cursor and quarantine."""
    cfg = _config(config, data_dir)
    conn = connect_reader(_db_file(cfg))
    try:
        now = time.time()
        st = read_status(conn, budget_bytes=cfg.store.sync.budget_bytes, now=now)
    finally:
        conn.close()
    if as_json:
        print(st.model_dump_json(indent=2))
        return
    _print_status(cfg, st, now)


def _print_status(cfg: HubConfig, st: SyncStatus, now: float) -> None:
    sc = cfg.store.sync
    mode = f"{sc.mode} → {sc.url or sc.mqtt_topic}" if sc.enabled else "[yellow]disabled[/]"
    console.print(f"[bold]sync[/] of store {cfg.store_id}: {mode}")
    if not st.initialised:
        console.print("  the database predates sync: start the hub once")
        return
    console.print(f"  origin {st.origin}   last upload ok: {_ago(st.last_upload_ok, now)}")
    if st.last_error and (st.last_error_at or 0) > (st.last_upload_ok or 0):
        console.print(f"  [red]last error[/] {_ago(st.last_error_at, now)}: {st.last_error}")
    colour = "red" if st.budget_ratio >= 1 else "yellow" if st.budget_ratio >= sc.warn_ratio else ""
    used = f"{st.pending_bytes / 2**20:.1f} MiB of {st.budget_bytes / 2**20:.0f} MiB"
    console.print(
        f"  pending {st.pending_rows} rows, lag {_span(st.lag_s)}, budget "
        + (f"[{colour}]{st.budget_ratio:.0%}[/]" if colour else f"{st.budget_ratio:.0%}")
        + f" ({used})"
    )
    table = Table()
    for col in ("stream", "pending", "bytes", "lag", "acked seq", "acked", "last ack", "dropped"):
        table.add_column(col, justify="left" if col == "stream" else "right")
    for s in st.streams:
        table.add_row(
            s.stream,
            str(s.pending_rows),
            str(s.pending_bytes),
            _span(s.lag_s),
            str(s.acked_seq),
            str(s.acked_rows),
            _span(now - s.last_ack) + " ago" if s.last_ack else "—",
            str(s.dropped_rows) if s.dropped_rows else "",
        )
    console.print(table)
    q = f"[red]{st.inbox_quarantined} quarantined[/]" if st.inbox_quarantined else "0 quarantined"
    console.print(
        f"  inbox: cursor {st.inbox_cursor}, {st.inbox_applied} applied, {q}, "
        f"last pull ok: {_ago(st.last_pull_ok, now)}"
    )


@app.command("push-now")
def push_now(
    config: ConfigOpt = None,
    data_dir: DataOpt = None,
    timeout: Annotated[float, typer.Option(help="Give up after this many seconds")] = 60.0,
) -> None:
    """Upload everything pending now, from this process.

    Safe beside a running hub: the cloud dedupes what both send.
    """
    cfg = _config(config, data_dir)
    path = _db_file(cfg)
    sc = cfg.store.sync
    if sc.mode != "https" or not sc.url:
        err.print("[red]error:[/] push-now needs sync.url in https mode")
        raise typer.Exit(2)
    try:
        sent = asyncio.run(_push(cfg, path, timeout))
    except HubError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None
    except TimeoutError:
        err.print(f"[red]error:[/] not everything was acknowledged within {timeout:.0f} s")
        raise typer.Exit(1) from None
    console.print(f"[green]ok[/] {sent} rows acknowledged by the cloud")


async def _push(cfg: HubConfig, path: Path, timeout: float) -> int:
    journal = Journal(path)
    await journal.open()
    writer = asyncio.create_task(journal.run())
    uploads, _ = build_adapters(cfg.store.sync, cfg.store_id)
    try:
        async with Sync(
            store_id=cfg.store_id,
            journal=journal,
            db_path=path,
            config=cfg.store.sync,
            uploads=uploads,
            pulls=None,
            alerts=LogAlerts(),
        ) as sync:
            async with asyncio.timeout(timeout):
                return await sync.drain()
    finally:
        writer.cancel()
        await asyncio.gather(writer, return_exceptions=True)
        journal.close()


quarantine_app = typer.Typer(
    help="Published changes the store refused: list them (the default), retry them."
)
app.add_typer(quarantine_app, name="quarantine")
LimitOpt = Annotated[int, typer.Option("--limit", "-n")]


@quarantine_app.callback(invoke_without_command=True)
def quarantine(
    ctx: typer.Context,
    config: ConfigOpt = None,
    data_dir: DataOpt = None,
    limit: LimitOpt = 50,
    as_json: JsonOpt = False,
) -> None:
    """Published changes the store refused, with the reason."""
    if ctx.invoked_subcommand is None:
        _list_quarantine(config, data_dir, limit, as_json)


@quarantine_app.command("list")
def quarantine_list(
    config: ConfigOpt = None,
    data_dir: DataOpt = None,
    limit: LimitOpt = 50,
    as_json: JsonOpt = False,
) -> None:
    """Published changes the store refused, with the reason (newest first)."""
    _list_quarantine(config, data_dir, limit, as_json)


def _list_quarantine(config: Path | None, data_dir: Path | None, limit: int, as_json: bool) -> None:
    cfg = _config(config, data_dir)
    conn = connect_reader(_db_file(cfg))
    try:
        if not store.tables_exist(conn):
            err.print("the database predates sync: start the hub once")
            raise typer.Exit(2)
        rows = [
            dict(r)
            for r in conn.execute(
                "SELECT version, type, key, reason, ts, data FROM sync_quarantine"
                " ORDER BY version DESC LIMIT ?",
                (limit,),
            )
        ]
    finally:
        conn.close()
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table(title="quarantined inbox changes")
    for col in ("version", "type", "key", "reason"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(str(r["version"]), r["type"], r["key"], r["reason"])
    console.print(table)


@quarantine_app.command("retry")
def quarantine_retry(
    version: Annotated[
        int | None, typer.Argument(help="Only this version (default: every one)")
    ] = None,
    config: ConfigOpt = None,
    data_dir: DataOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Apply quarantined changes again (after HQ or an update fixed what refused them).

    Each is applied (and leaves quarantine), stays quarantined with the new reason, or
    is dropped as superseded by a later version of the same item.  Runs in this
    process: a running hub's caches (catalog, labels, checkout promotions, provisioned
    devices) take the applied changes at its next start — stop the hub first, or
    restart it after.
    """
    cfg = _config(config, data_dir)
    path = _db_file(cfg)
    try:
        results = asyncio.run(_retry(cfg, path, version))
    except HubError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None
    if as_json:
        print(json.dumps([_retried(r) for r in results], indent=2))
    elif not results:
        console.print("nothing quarantined" + (f" as version {version}" if version else ""))
    else:
        table = Table(title="retried inbox changes")
        for col in ("version", "type", "key", "outcome", "reason"):
            table.add_column(col, overflow="fold")
        colour = {"applied": "green", "superseded": "yellow", "quarantined": "red"}
        for r in results:
            outcome = f"[{colour[r.outcome]}]{r.outcome}[/]"
            table.add_row(str(r.version), r.type, r.key, outcome, r.reason or "")
        console.print(table)
    if version is not None and not results:
        raise typer.Exit(1)
    if any(r.outcome == "quarantined" for r in results):
        raise typer.Exit(3)


def _retried(r: Retried) -> dict[str, object]:
    return {
        "version": r.version,
        "type": r.type,
        "key": r.key,
        "outcome": r.outcome,
        "reason": r.reason,
    }


async def _retry(cfg: HubConfig, path: Path, version: int | None) -> list[Retried]:
    journal = Journal(path)
    await journal.open()
    writer = asyncio.create_task(journal.run())
    try:
        inbox = Inbox(
            journal=journal,
            adapter=None,
            config=cfg.store.sync,
            alerts=LogAlerts(),
            metrics=SyncMetrics(),
        )
        return await inbox.retry_quarantined(version)
    finally:
        writer.cancel()
        await asyncio.gather(writer, return_exceptions=True)
        journal.close()


if __name__ == "__main__":  # pragma: no cover
    app()
