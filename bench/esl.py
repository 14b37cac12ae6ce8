"""Shelf-label benchmark: an HQ price file for the whole store, 30 % of the prices changed.

    HQ push (all N items) ─▶ hub: price book, content keys ─▶ 70 % skipped by hash
                                        │ 30 % changed
                                        ▼
                     render pool (processes) ─▶ per-AP queues ─▶ Mosquitto ─▶ simulated APs
                                                                              (radio waves,
                                                      confirmations ◀── results  2 % losses)

Measured from the HQ call (``EslService.push``) to the last confirmation: wall time,
labels rendered per second (while rendering), and labels skipped by the content hash.
The labels start out showing their current content (``EslService.adopt``), as in a store
that already runs. Hub, simulators and Mosquitto share this machine.

    .venv/bin/python -m bench.esl [--labels 10000] [--aps 10] [--change 0.3] [--json]
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from devices.esl_ap.config import EslApConfig
from hub.catalog import Item, gtin_check_digit
from hub.config import EnvSettings, load_config
from hub.esl.batches import PriceBatchIn
from hub.esl.labels import Binding
from hub.esl.service import EslService
from hub.esl.settings import EslSettings
from hub.hub import Hub
from simulators.base import SimEndpoint
from simulators.esl_ap import EslApSimulator

GOAL_S = 20.0
PANELS = [("2.13", 250, 122, "bw"), ("2.9", 296, 128, "bwr"), ("4.2", 400, 300, "bwr")]


def gtin(i: int) -> str:
    body = f"0690{i:09d}"
    return body + gtin_check_digit(body)


async def run_bench(
    labels: int,
    aps: int,
    change: float,
    *,
    radio_failure: float = 0.02,
    workdir: Path,
    broker_url: str,
    port: int,
) -> dict[str, Any]:
    per_ap = labels // aps
    lines = [
        f'[[devices]]\nid = "ap-{a}"\nkind = "esl_ap"\nzone = "z{a % 3}"\n'
        f"capacity = 400\nbatch_max = 100\n"
        for a in range(aps)
    ]
    (workdir / "store.toml").write_text("".join(lines))
    cfg = load_config(
        EnvSettings(
            config=workdir / "store.toml",
            data_dir=workdir / "data",
            broker_url=broker_url,
            api_port=0,
        )
    )
    holder: dict[str, EslService] = {}

    async def plugin(hub: Hub) -> None:
        holder["esl"] = svc = EslService(
            hub, EslSettings(health_check_s=3600, audit_s=3600, retry_base_s=0.3, retry_cap_s=2)
        )
        hub.provide(svc)
        await svc.run()

    async with Hub(cfg, plugins=[plugin]) as hub:
        await hub.wait_ready(30)
        while "esl" not in holder:  # noqa: ASYNC110 - the plugin creates it at start
            await asyncio.sleep(0.05)
        esl = holder["esl"]
        async with asyncio.timeout(60):
            await esl.ready.wait()
        items = [
            Item(gtin=gtin(i), name=f"商品 {i} Product {i}", price=100 + i % 900)
            for i in range(labels)
        ]
        await esl.catalog.upsert(items)
        sims: list[EslApSimulator] = []
        for a, dev in enumerate(cfg.store.devices):
            assert isinstance(dev, EslApConfig)
            sim = EslApSimulator(
                dev,
                "s1",
                SimEndpoint("127.0.0.1", port),
                seed=a,
                radio_failure=radio_failure,
                airtime_s=0.05,
                radio_slots=64,
            )
            key, width, height, colors = PANELS[a % len(PANELS)]
            for lb in sim.add_labels(
                per_ap, width=width, height=height, colors=colors, interval_s=300
            ):
                item = items[len(sims) * per_ap + int(lb.id[-5:])]
                lb.hash = f"{hash(lb.id) & (2**128 - 1):032x}"
                esl.labels.ensure(lb.id, esl.clock()).ap = dev.id
                esl.adopt(
                    Binding(
                        label=lb.id,
                        gtin=item.gtin,
                        panel=key,
                        colors=colors,
                        ap=dev.id,
                    ),
                    lb.hash,
                )
            await sim.connect()
            sim.start()
            sims.append(sim)
        await esl.flush()
        # Exactly ``change`` of the items, spread evenly over the APs and panel types.
        changed = {i for i in range(labels) if (i * 7919) % 1000 < change * 1000}
        batch = PriceBatchIn.model_validate(
            {
                "idempotency_key": f"bench-{time.time()}",
                "prices": [
                    {
                        "gtin": it.gtin,
                        "price": f"{(it.price + (7 if i in changed else 0)) / 100:.2f}",
                    }
                    for i, it in enumerate(items)
                ],
            }
        )
        rendered0 = esl.pool.rendered
        t0 = time.perf_counter()
        progress = await esl.push(batch)
        render_done = None
        while True:
            p = esl.progress(progress["id"]) or {}
            if render_done is None and p.get("rendered", 0) >= p["total"] - p["skipped"]:
                render_done = time.perf_counter()
            if p.get("done"):
                break
            if time.perf_counter() - t0 > 300:
                raise TimeoutError(f"not converged: {p}")
            await asyncio.sleep(0.02)
        elapsed = time.perf_counter() - t0
        for sim in sims:
            await sim.close()
        rendered = esl.pool.rendered - rendered0
        render_s = (render_done or time.perf_counter()) - t0
        return {
            "labels": labels,
            "aps": aps,
            "changed_items": len(changed),
            "seconds": round(elapsed, 2),
            "goal_s": GOAL_S,
            "met": elapsed < GOAL_S,
            "confirmed": p["confirmed"],
            "failed": p["failed"],
            "skipped_by_hash": p["skipped"],
            "rendered": rendered,
            "rendered_per_s": round(rendered / render_s, 1),
            "retries": esl.transport.retries,
            "commands": sum(link.commands for link in esl.transport.links.values()),
            "render_workers": esl.pool.workers,
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
        }


def main(
    labels: Annotated[int, typer.Option(help="Labels (one item each)")] = 10_000,
    aps: Annotated[int, typer.Option(help="Access points")] = 10,
    change: Annotated[float, typer.Option(help="Share of items whose price changes")] = 0.3,
    radio_failure: Annotated[float, typer.Option(help="Share of transfers lost")] = 0.02,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    from tests.conftest import Mosquitto  # the same throwaway broker the tests use

    with tempfile.TemporaryDirectory() as tmp:
        broker_dir = Path(tmp) / "broker"
        broker_dir.mkdir()
        mosq = Mosquitto(broker_dir)
        mosq.start()
        try:
            result = asyncio.run(
                run_bench(
                    labels,
                    aps,
                    change,
                    radio_failure=radio_failure,
                    workdir=Path(tmp),
                    broker_url=mosq.url,
                    port=mosq.port,
                )
            )
        finally:
            mosq.stop()
    if as_json:
        print(json.dumps(result))
        return
    table = Table(title=f"ESL: {labels} labels, {change:.0%} of prices changed")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in result.items():
        table.add_row(key, str(value))
    Console().print(table)


if __name__ == "__main__":
    typer.run(main)
