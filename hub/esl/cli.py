"""``storehub esl ...``: push HQ price files, watch them converge, look at labels.

Writes go through the running hub's store API (a token with the ``hq`` or ``staff``
scope: ``--token`` or ``$STOREHUB_TOKEN``); reads of the label database open it
read-only, like the other ``storehub`` commands.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from hub.config import EnvSettings, load_config
from hub.db import connect_reader, db_path
from hub.errors import HubError

app = typer.Typer(help="Electronic shelf labels.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)

ApiOpt = Annotated[
    str | None,
    typer.Option("--api", help="Store API URL (default: $STOREHUB_API_URL or the config's [api])"),
]
TokenOpt = Annotated[
    str | None,
    typer.Option("--token", help="API token (default: $STOREHUB_TOKEN)", show_default=False),
]
ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="Store config")]
DataOpt = Annotated[Path | None, typer.Option("--data-dir", help="Data dir")]


def _client(api: str | None, token: str | None, config: Path | None = None) -> httpx.Client:
    token = token or os.environ.get("STOREHUB_TOKEN")
    if not token:
        err.print("[red]error:[/] an API token is needed (--token or $STOREHUB_TOKEN)")
        raise typer.Exit(2)
    url = api or os.environ.get("STOREHUB_API_URL")
    if url is None:
        try:
            cfg = load_config(EnvSettings(config=config) if config else None)
        except HubError as exc:
            err.print(f"[red]error:[/] {exc}")
            raise typer.Exit(2) from None
        host = cfg.store.api.host if cfg.store.api.host not in ("", "0.0.0.0") else "127.0.0.1"
        url = f"http://{host}:{cfg.api_port}"
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def _call(client: httpx.Client, method: str, path: str, **kw: Any) -> Any:
    try:
        r = client.request(method, path, **kw)
    except httpx.HTTPError as exc:
        err.print(f"[red]error:[/] cannot reach the store API at {client.base_url}: {exc}")
        raise typer.Exit(1) from None
    if r.status_code >= 400:
        detail = (
            r.json().get("detail")
            if r.headers.get("content-type", "").startswith("application/json")
            else r.text
        )
        err.print(f"[red]error {r.status_code}:[/] {detail}")
        raise typer.Exit(1)
    return r.json()


@app.command()
def push(
    file: Annotated[Path, typer.Argument(help="JSON price batch (the body of POST /esl/batches)")],
    key: Annotated[str | None, typer.Option(help="Idempotency key (default: the file's)")] = None,
    wait: Annotated[bool, typer.Option(help="Show progress until every label is done")] = True,
    api: ApiOpt = None,
    token: TokenOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Push an HQ price batch and watch the labels converge."""
    try:
        body = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        err.print(f"[red]error:[/] {file}: {exc}")
        raise typer.Exit(2) from None
    headers = {"Idempotency-Key": key} if key else {}
    with _client(api, token, config) as client:
        batch = _call(client, "POST", "/esl/batches", json=body, headers=headers)
        console.print(
            f"batch [bold]{batch['id']}[/] ({batch['idempotency_key']}): {batch['total']} labels"
        )
        if wait:
            batch = _watch(client, batch)
    _summary(batch)
    if batch.get("failed"):
        raise typer.Exit(1)


def _watch(client: httpx.Client, batch: dict[str, Any]) -> dict[str, Any]:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[stages]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as bar:
        task = bar.add_task("labels", total=max(1, batch["total"]), stages="")
        while True:
            done = batch["confirmed"] + batch["failed"] + batch["skipped"]
            stages = (
                f"queued {batch['queued']} · rendered {batch['rendered']} · sent "
                f"{batch['sent']} · confirmed {batch['confirmed']} · failed "
                f"{batch['failed']} · skipped {batch['skipped']}"
                + (f" · scheduled {batch['scheduled']}" if batch["scheduled"] else "")
            )
            bar.update(task, completed=done, total=max(1, batch["total"]), stages=stages)
            if batch["done"]:
                return batch
            time.sleep(0.25)
            batch = _call(client, "GET", f"/esl/batches/{batch['id']}")


def _summary(batch: dict[str, Any]) -> None:
    table = Table(show_header=True)
    for col in ("total", "confirmed", "failed", "skipped", "scheduled"):
        table.add_column(col, justify="right")
    table.add_row(
        *(str(batch.get(c, 0)) for c in ("total", "confirmed", "failed", "skipped", "scheduled"))
    )
    console.print(table)
    for label, reason in (batch.get("errors") or {}).items():
        console.print(f"  [red]{label}[/]: {reason}")


@app.command()
def progress(
    batch: str, api: ApiOpt = None, token: TokenOpt = None, config: ConfigOpt = None
) -> None:
    """Show a batch's progress (by id or idempotency key)."""
    with _client(api, token, config) as client:
        _summary(_call(client, "GET", f"/esl/batches/{batch}"))


@app.command()
def flash(
    label: str,
    color: str = "green",
    seconds: int = 10,
    api: ApiOpt = None,
    token: TokenOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Flash a label's LED (locate a shelf, pick an item)."""
    with _client(api, token, config) as client:
        out = _call(
            client, "POST", f"/esl/labels/{label}/led", json={"color": color, "seconds": seconds}
        )
    console.print(f"{label}: {out['outcome']}" + (f" ({out['error']})" if out["error"] else ""))


@app.command()
def labels(
    problems: Annotated[
        bool, typer.Option(help="Only unbound-but-failing or stale labels")
    ] = False,
    limit: int = 200,
    config: ConfigOpt = None,
    data_dir: DataOpt = None,
) -> None:
    """The label database: binding, battery, signal, last check-in, state."""
    overrides: dict[str, Any] = {}
    if config:
        overrides["config"] = config
    if data_dir:
        overrides["data_dir"] = data_dir
    path = db_path(load_config(EnvSettings(**overrides) if overrides else None).data_dir)
    if not path.exists():
        err.print(f"[red]error:[/] no hub database at {path}")
        raise typer.Exit(2)
    conn = connect_reader(path)
    try:
        rows = _label_rows(conn, problems, limit)
    finally:
        conn.close()
    table = Table(title=f"{len(rows)} labels")
    for col in ("label", "ap", "gtin", "battery", "rssi", "last seen", "state", "error"):
        table.add_column(col)
    now = time.time()
    for r in rows:
        state = (
            "ok"
            if r["desired_hash"] and r["desired_hash"] == r["confirmed_hash"] == r["shown_hash"]
            else ("unbound" if not r["gtin"] else "pending")
        )
        seen = f"{now - r['last_seen']:.0f}s ago" if r["last_seen"] else "—"
        table.add_row(
            r["id"],
            r["ap"] or "—",
            r["gtin"] or "—",
            f"{r['battery_mv']} mV" if r["battery_mv"] else "—",
            f"{r['rssi']}" if r["rssi"] is not None else "—",
            seen,
            state,
            r["last_error"] or "",
        )
    console.print(table)


def _label_rows(conn: sqlite3.Connection, problems: bool, limit: int) -> list[sqlite3.Row]:
    where = (
        (
            " WHERE gtin IS NOT NULL AND (last_error IS NOT NULL OR desired_hash IS NULL"
            " OR desired_hash != IFNULL(confirmed_hash, '') OR"
            " IFNULL(shown_hash, '') != IFNULL(confirmed_hash, ''))"
        )
        if problems
        else ""
    )
    return list(conn.execute(f"SELECT * FROM esl_labels{where} ORDER BY id LIMIT ?", (limit,)))


@app.command()
def fonts() -> None:
    """Which fonts labels are drawn with (and what to install if one is missing)."""
    from hub.esl.fonts import font_report

    report = font_report()
    for choice in (report.cjk, report.latin, report.price):
        where = choice.path or "[red]Pillow built-in[/]"
        console.print(
            f"{choice.role:6} {where}" + (f" ({choice.package})" if choice.package else "")
        )
    for problem in report.problems():
        console.print(f"[yellow]warning:[/] {problem}")


@app.command()
def preview(
    out: Annotated[Path, typer.Argument(help="PNG file to write")],
    name: str = "康师傅 红烧牛肉面 Instant noodles",
    price: str = "12.90",
    promo: Annotated[str | None, typer.Option(help="Promotion price")] = None,
    promo_text: str = "限时特价",
    gtin: str = "06901234567892",
    panel: Annotated[str, typer.Option(help="2.13, 2.9 or 4.2")] = "2.9",
    colors: Annotated[str, typer.Option(help="bw or bwr")] = "bwr",
    template: Annotated[str, typer.Option(help="standard or qr")] = "standard",
) -> None:
    """Render one label to a PNG, to look at a template."""
    from hub.esl.content import PANELS, LabelContent, RenderJob
    from hub.esl.render import compose, render
    from hub.pricing.money import to_minor

    content = LabelContent(
        gtin=gtin,
        name=name,
        price=to_minor(price),
        promo_price=to_minor(promo) if promo else None,
        promo_text=promo_text if promo else None,
    )
    job = RenderJob(content, panel, colors, template)  # type: ignore[arg-type]
    r = render(job)
    p = PANELS[job.panel]
    compose(r.planes, p.width, p.height, colors).save(out)
    console.print(f"{out}: {p.width}×{p.height} {colors}, hash {r.hash}")
