"""``python -m simulators.cloud --port P --db F [--host H] [--token STORE=SECRET ...]``"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from simulators.cloud.app import CloudApp
from simulators.cloud.db import CloudStore
from simulators.cloud.server import make_server

cli = typer.Typer(add_completion=False)


@cli.command()
def main(
    port: Annotated[int, typer.Option(help="TCP port")] = 8900,
    db: Annotated[Path, typer.Option(help="The cloud's SQLite file")] = Path("var/cloud.db"),
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    token: Annotated[
        list[str] | None, typer.Option(help="STORE=SECRET: a store's bearer credential (repeat)")
    ] = None,
    admin_token: Annotated[str | None, typer.Option(help="Bearer credential of /admin")] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "warning",
) -> None:
    """Run the reference cloud backend."""
    tokens: dict[str, str] = {}
    for item in token or []:
        store, sep, secret = item.partition("=")
        if not sep or not store or not secret:
            raise typer.BadParameter(f"{item!r} is not STORE=SECRET", param_hint="--token")
        tokens[store] = secret
    logging.basicConfig(level=logging.INFO)
    if not tokens:
        logging.getLogger("storehub.cloud").warning(
            "no --token: any bearer credential is accepted (open mode)"
        )
    cloud_db = CloudStore(db)
    try:
        app = CloudApp(cloud_db, tokens=tokens, admin_token=admin_token)
        make_server(app, host, port, log_level=log_level).run()
    finally:
        cloud_db.close()


if __name__ == "__main__":
    cli()
