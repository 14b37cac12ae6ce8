"""Process-level wiring for ``storehub run`` and ``storehub demo``: the hub plus
whatever plugs into it (store API, simulators), and a summary of what runs where."""

from __future__ import annotations

import asyncio
import importlib.util
import logging

from rich.console import Console
from rich.panel import Panel

from hub.config import HubConfig
from hub.hub import Hub

log = logging.getLogger("storehub.runtime")


async def serve(
    cfg: HubConfig,
    *,
    console: Console | None = None,
    simulate: bool = False,
    rate: float = 0.5,
    seed: int | None = None,
) -> None:
    async with Hub(cfg) as hub:
        await hub.wait_ready()
        sims: asyncio.Task[None] | None = None
        if simulate:
            from simulators.runner import run_simulation

            sims = asyncio.create_task(
                run_simulation(
                    cfg,
                    scenario="random",
                    duration=None,
                    rate=rate,
                    seed=seed,
                    only=None,
                    console=None,
                    hub=hub,
                )
            )
        if console is not None:
            api = cfg.api_port != 0 and importlib.util.find_spec("store_api.server") is not None
            console.print(_summary(cfg, hub, api, simulate))
        log.info("storehub running", extra=hub.status())
        try:
            if sims is not None:
                await sims
            await asyncio.Event().wait()
        finally:
            # Simulators go first, so the hub still sees them say goodbye.
            if sims is not None and not sims.done():
                sims.cancel()
                await asyncio.gather(sims, return_exceptions=True)
                await asyncio.sleep(0.3)


def _summary(cfg: HubConfig, hub: Hub, api: bool, simulate: bool) -> Panel:
    broker = hub.broker.url if hub.broker else f"{cfg.broker_url} (external)"
    lines = [
        f"[bold]store[/]      {cfg.store_id} — {cfg.store.store.name or 'unnamed'}",
        f"[bold]config[/]     {cfg.source}",
        f"[bold]data[/]       {cfg.data_dir} (hub.db: journal, devices, alerts, dead letters)",
        f"[bold]broker[/]     {broker}"
        + (" (managed Mosquitto, ACL per device)" if hub.broker else ""),
        f"[bold]devices[/]    {len(hub.registry)}: "
        + ", ".join(f"{d.id} ({d.kind})" for d in hub.registry),
    ]
    if api:
        lines.append(
            f"[bold]store API[/]  http://{cfg.store.api.host}:{cfg.api_port}/  (OpenAPI at /docs)"
        )
    if simulate:
        lines.append("[bold]simulators[/] one per device, random scenario")
    lines.append("")
    lines.append("watch it:   storehub devices   ·   storehub events -f   ·   storehub deadletter")
    if cfg.data_dir.name != "var":
        lines[-1] += f"   (with --data-dir {cfg.data_dir})"
    lines.append("stop it:    Ctrl-C")
    return Panel("\n".join(lines), title="storehub is running", border_style="green")
