"""``storehub token …``: make, list and revoke store API tokens.

Runs beside a running hub: it writes ``hub.db`` through its own connection
(SQLite serialises the two writers; WAL keeps readers going).  A new token is
printed once, alone on stdout, so that ``TOKEN=$(storehub token create …)``
works; everything else goes to stderr.
"""

from __future__ import annotations

import contextlib
import enum
import json
import sqlite3
import time
from collections.abc import Iterator
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hub import auth
from hub.cli_support import ConfigOpt, DataOpt
from hub.cli_support import cli_config as _config
from hub.config import HubConfig
from hub.db import connect_writer, db_path

app = typer.Typer(help="Store API tokens (bearer tokens with scopes).", no_args_is_help=True)
out = Console()
err = Console(stderr=True)


class ScopeName(enum.StrEnum):
    staff = "staff"
    hq = "hq"
    admin = "admin"


@contextlib.contextmanager
def _db(cfg: HubConfig) -> Iterator[sqlite3.Connection]:
    conn = connect_writer(db_path(cfg.data_dir))  # creates and migrates when needed
    try:
        yield conn
    finally:
        conn.close()


@app.command()
def create(
    name: Annotated[str, typer.Argument(help="Who or what holds it, e.g. li.wei or prometheus")],
    scope: Annotated[
        list[ScopeName], typer.Option("--scope", "-s", help="staff, hq or admin (repeatable)")
    ],
    config: ConfigOpt = None,
    data_dir: DataOpt = None,
) -> None:
    """Make a token and print it (once: only its hash is kept)."""
    cfg = _config(config, data_dir)
    with _db(cfg) as db:
        try:
            token = auth.create_token(db, name, [s.value for s in scope], now=time.time())
        except auth.TokenError as exc:
            err.print(f"[red]error:[/] {exc}")
            raise typer.Exit(1) from None
    scopes = ", ".join(sorted(s.value for s in set(scope)))
    err.print(f"[green]token for {name}[/] ({scopes}) — shown once, keep it safe:")
    print(token, flush=True)


@app.command("list")
def list_(
    config: ConfigOpt = None,
    data_dir: DataOpt = None,
    revoked: Annotated[bool, typer.Option(help="Show revoked tokens too")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output")] = False,
) -> None:
    """List tokens (names and scopes; never the tokens)."""
    cfg = _config(config, data_dir)
    with _db(cfg) as db:
        tokens = auth.list_tokens(db, revoked=revoked)
    if as_json:
        out.print_json(json.dumps([t.model_dump() for t in tokens]))
        return
    table = Table(title="store API tokens")
    for col in ("name", "scopes", "created", "last used", "revoked"):
        table.add_column(col)
    for t in tokens:
        table.add_row(
            t.name, " ".join(t.scopes), _when(t.created), _when(t.last_used), _when(t.revoked)
        )
    out.print(table)


@app.command()
def revoke(
    name: Annotated[str, typer.Argument(help="The token's name")],
    config: ConfigOpt = None,
    data_dir: DataOpt = None,
) -> None:
    """Revoke a token (a running API stops taking it within seconds)."""
    cfg = _config(config, data_dir)
    with _db(cfg) as db:
        try:
            auth.revoke_token(db, name, now=time.time())
        except auth.TokenError as exc:
            err.print(f"[red]error:[/] {exc}")
            raise typer.Exit(1) from None
    err.print(f"revoked {name}")


def _when(ts: float | None) -> str:
    return "—" if ts is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))
