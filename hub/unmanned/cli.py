"""``storehub unmanned``: demo stores of the three checkout models, seeded scenarios,
entry tokens, and the review queue as the database holds it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from hub.cli_support import ConfigOpt, DataOpt, JsonOpt, cli_config, reader
from hub.unmanned import review as rv
from hub.unmanned.config import Model

app = typer.Typer(help="Unmanned checkout: demo stores, scenarios, tokens.", no_args_is_help=True)
console = Console()

ModelArg = Annotated[Model, typer.Argument(help="rfid_box, exit_gate or grab_and_go")]


def _summary_table(title: str, summary: dict[str, Any]) -> Table:
    table = Table(title=title)
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in summary.items():
        shown = f"{value * 1000:.0f} ms" if key.endswith("_s") and value is not None else value
        table.add_row(key.replace("_", " "), str(shown))
    return table


@app.command()
def scenario(
    model: ModelArg,
    shoppers: Annotated[int, typer.Option(min=1, max=30, help="Shoppers (1-30)")] = 10,
    seed: Annotated[int, typer.Option(help="Scenario seed")] = 1,
    fire: Annotated[bool, typer.Option(help="A fire alarm 4 s in")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Play one seeded scenario against a fresh hub of the model's demo store, score it."""
    from simulators.store.play import run_scenario
    from simulators.store.shoppers import Knobs

    knobs = Knobs(model=model, shoppers=shoppers, seed=seed, fire_at=4.0 if fire else None)
    with tempfile.TemporaryDirectory() as tmp:
        report = asyncio.run(run_scenario(knobs, Path(tmp) / "data"))
    if as_json:
        console.print_json(json.dumps(report.summary()))
        return
    console.print(_summary_table(f"{model}: {shoppers} shoppers, seed {seed}", report.summary()))


@app.command()
def demo(
    model: ModelArg,
    data_dir: DataOpt = None,
    shoppers: Annotated[int, typer.Option(min=1, max=30, help="Shoppers per round")] = 8,
    api_port: Annotated[int, typer.Option(help="Store API and handheld page port")] = 8080,
) -> None:
    """The demo unmanned store: hub + managed broker + store API + simulated shoppers,
    round after round until Ctrl-C. Bills that need a look wait on the handheld page."""
    from simulators.store.play import store_hub
    from simulators.store.shoppers import Knobs

    data = data_dir or Path("var") / f"unmanned-{model}"

    async def main() -> None:
        async with store_hub(model, data, api_port=api_port) as (_hub, run):
            console.print(
                f"[bold]storehub unmanned demo[/] ({model}): handheld page and API on "
                f"http://127.0.0.1:{api_port}/ (make a staff token: storehub token create "
                f"NAME --scope staff --data-dir {data})"
            )
            with Progress(console=console) as progress:
                task = progress.add_task("shoppers", total=None)
                for n in range(1, 1_000_000):
                    knobs = Knobs(model=model, shoppers=shoppers, seed=n)
                    report = await run(knobs, staff=False).play()
                    s = report.summary()
                    progress.update(task, advance=s["shoppers"])
                    console.print(
                        f"round {n}: {s['shoppers']} shoppers, {s['reviewed']} bills to review, "
                        f"{s['thieves_caught']}/{s['thieves']} thieves caught, "
                        f"exit p99 {(s['exit_p99_s'] or 0) * 1000:.0f} ms"
                    )

    with contextlib.suppress(KeyboardInterrupt, asyncio.CancelledError):
        asyncio.run(main())


@app.command()
def token(
    member: Annotated[str | None, typer.Option(help="Member id")] = None,
    pay: Annotated[str | None, typer.Option(help="Card-on-file token charged at the exit")] = None,
    party: Annotated[int, typer.Option(min=1, max=20, help="People it lets in")] = 1,
    ttl: Annotated[float, typer.Option(help="Seconds it is valid")] = 300.0,
    store: Annotated[str, typer.Option(help="Store id")] = "s1",
    key_file: Annotated[
        Path | None, typer.Option(help="Ed25519 private key, base64 (default: the demo key)")
    ] = None,
    kid: Annotated[str, typer.Option(help="Key id the store knows the key by")] = "demo",
) -> None:
    """An entry token, as the cloud would sign it for the shopper's app (QR payload)."""
    from hub.unmanned.tokens import issue, load_private_key
    from simulators.store.play import DEMO_KEY

    path = key_file or DEMO_KEY
    text = path.read_text(encoding="utf-8")
    key = load_private_key(next(ln for ln in text.splitlines() if ln and ln[0] != "#"))
    typer.echo(issue(key, kid=kid, store=store, member=member, pay=pay, party=party, ttl_s=ttl))


@app.command()
def reviews(
    config: ConfigOpt = None,
    data_dir: DataOpt = None,
    status: Annotated[str | None, typer.Option(help="Only this status (e.g. pending)")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The review queue, from the hub's database (safe beside a running hub)."""
    cfg = cli_config(config, data_dir)
    with reader(cfg) as conn:
        found = rv.listing(conn, status)
    if as_json:
        console.print_json(json.dumps([r.summary() for r in found]))
        return
    table = Table(title=f"{len(found)} review(s)")
    for col in ("id", "status", "session", "total", "confidence", "reason"):
        table.add_column(col)
    for r in found:
        table.add_row(r.id, r.status, r.session or "", str(r.bill.total),
                      f"{r.bill.confidence:.2f}", r.reason)  # fmt: skip
    console.print(table)
