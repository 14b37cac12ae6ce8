"""What every ``storehub`` command group shares: the config/data-dir options, loading
the config with a clean error, read-only database access and time formatting.

Kept apart from ``hub/cli.py`` so that command groups in other packages can use it
without importing the CLI that mounts them.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from hub.config import EnvSettings, HubConfig, load_config
from hub.db import connect_reader, db_path
from hub.errors import HubError

err = Console(stderr=True)

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="Store config (default: $STOREHUB_CONFIG)")
]
DataOpt = Annotated[
    Path | None, typer.Option("--data-dir", help="Data dir (default: $STOREHUB_DATA_DIR)")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="JSON output")]


def cli_config(config: Path | None, data_dir: Path | None) -> HubConfig:
    """The hub config for a command; a bad one exits 2 with the file and key named."""
    overrides: dict[str, Any] = {}
    if config is not None:
        overrides["config"] = config
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    try:
        return load_config(EnvSettings(**overrides) if overrides else None)
    except HubError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None


def db_file(cfg: HubConfig) -> Path:
    """The hub's database file; exits 2 if the hub never ran with this data dir."""
    path = db_path(cfg.data_dir)
    if not path.exists():
        err.print(f"[red]error:[/] no hub database at {path} (has the hub run with this data dir?)")
        raise typer.Exit(2)
    return path


@contextlib.contextmanager
def reader(cfg: HubConfig) -> Iterator[sqlite3.Connection]:
    """A read-only connection, safe beside a running hub."""
    conn = connect_reader(db_file(cfg))
    try:
        yield conn
    finally:
        conn.close()


def when(ts: float | None) -> str:
    return "—" if ts is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))
