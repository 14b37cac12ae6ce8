"""``storehub rules ...``: check rule files, dry-run a rule against an event.

Wired into the main CLI with ``app.add_typer(rules.cli.app, name="rules")``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from hub.config import EnvSettings, StoreConfig, load_store_file, resolve_config_path
from hub.errors import HubError
from hub.inventory import StockLevel
from rules.dryrun import explain as explain_rule
from rules.dryrun import occurrence_from_json
from rules.engine import store_tz
from rules.errors import RuleError
from rules.model import LoadResult, load_path
from rules.scope import DeviceInfo, MemoryStore

app = typer.Typer(help="Rules: validate rule files, dry-run a rule.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)

PathArg = Annotated[
    Path | None,
    typer.Argument(help="A rule file or directory (default: rules/ beside the store config)"),
]
ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="Store config (default: $STOREHUB_CONFIG)")
]


def _config_path(config: Path | None) -> Path:
    return resolve_config_path(config or EnvSettings().config)


def _rules_path(path: Path | None, config: Path | None) -> Path:
    if path is not None:
        return path
    env = os.environ.get("STOREHUB_RULES_DIR")
    return Path(env) if env else _config_path(config).parent / "rules"


def _print_errors(result: LoadResult) -> None:
    for line in result.errors:
        err.print(f"[red]error:[/] {escape(line)}")


@app.command()
def check(path: PathArg = None, config: ConfigOpt = None) -> None:
    """Validate rule files; every error names the file, the rule and the field."""
    where = _rules_path(path, config)
    result = load_path(where)
    if not result.ok:
        _print_errors(result)
        err.print(f"[red]{len(result.errors)} error(s)[/] in {where}")
        raise typer.Exit(1)
    table = Table("rule", "trigger", "mode", "file", box=None)
    for lr in result.rules:
        table.add_row(
            lr.rule.name + ("" if lr.rule.enabled else " (disabled)"),
            escape(lr.rule.trigger.summary()),
            lr.rule.mode,
            lr.file.name,
        )
    console.print(table)
    console.print(
        f"[green]✓[/] {len(result.rules)} rules in {len(result.files)} file(s) are valid ({where})"
    )


def _store(config: StoreConfig, state: dict[str, Any]) -> MemoryStore:
    store = MemoryStore(timezone=store_tz(config.store.timezone))
    store.add(*(DeviceInfo(d.id, d.kind, d.zone, d.role, d.may_sleep) for d in config.devices))
    # A dry run assumes a normal store: every device online, unless --state says otherwise.
    store.presence = {d.id: True for d in config.devices} | dict(state.get("online", {}))
    store.flags = dict(state.get("flags", {}))
    for s in state.get("stock", []):
        level = StockLevel.model_validate(s)
        store.levels[(level.item, level.zone)] = level
    return store


@app.command("test")
def dry_run(
    rule: Annotated[str, typer.Argument(help="The rule's name")],
    event: Annotated[
        str,
        typer.Option(
            "--event", "-e", help='Event JSON, e.g. \'{"device": "kiosk-1", "name": "help"}\''
        ),
    ],
    path: Annotated[Path | None, typer.Option("--rules", help="Rule file or directory")] = None,
    config: ConfigOpt = None,
    state: Annotated[
        str | None,
        typer.Option(
            "--state",
            help='Store state JSON: {"online": {"door-in": false}, "flags": '
            '{"emergency": true}, "stock": [{"item", "zone", "qty", "safe"}]}',
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON")] = False,
) -> None:
    """Dry run: would RULE fire on this event, and which actions would it take?"""
    try:
        data = json.loads(event)
        extra = json.loads(state) if state else {}
        if not isinstance(data, dict) or not isinstance(extra, dict):
            raise ValueError("must be a JSON object")
        store_config = load_store_file(_config_path(config))
        store = _store(store_config, extra)
    except (ValueError, HubError) as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None
    result = load_path(_rules_path(path, config))
    found = next((lr for lr in result.rules if lr.rule.name == rule), None)
    if found is None:
        _print_errors(result)
        known = ", ".join(sorted(lr.rule.name for lr in result.rules)) or "none"
        err.print(f"[red]error:[/] no valid rule named {rule!r} (known: {known})")
        raise typer.Exit(2)
    try:
        occ = occurrence_from_json(data, found.rule.trigger.source, store)
    except RuleError as exc:
        err.print(f"[red]error:[/] --event: {escape(str(exc))}")
        raise typer.Exit(2) from None
    run = explain_rule(found, occ, store, store_id=store_config.store.id)
    if as_json:
        console.print_json(run.model_dump_json())
        return
    console.print(f"[bold]{run.rule}[/] ({run.file}, {run.mode} mode) — dry run, nothing is sent")
    console.print(
        f"  trigger: {'selects' if run.selected else 'does not select'} this event"
        + (", state holds" if run.selected and run.trigger_holds else "")
    )
    for c in run.conditions:
        mark = {True: "[green]✓[/]", False: "[red]✗[/]", None: "[dim]·[/]"}[c.holds]
        console.print(
            f"  {mark} {escape(c.condition)}" + (f" [red]({escape(c.error)})[/]" if c.error else "")
        )
    colour = "green" if run.fires else "yellow"
    console.print(f"  [{colour}]{escape(run.verdict)}[/]")
    for i, step in enumerate(run.steps, 1):
        console.print(f"    {i}. {escape(step)}")
