"""Ingest benchmark: QoS 1 ``passage`` events from simulated doors, through Mosquitto, into the hub.

    publishers (P processes, paho) ─QoS 1─▶ mosquitto ─┬─▶ bare aiomqtt client  (the ceiling)
                                                       └─▶ hub.Hub ─▶ journal  (what we ship)

A *drain round* measures the consumers alone: both persistent sessions are
created, the publishers fill the broker's queues while both consumers are away,
then each consumer in turn connects and is timed until it holds all N events
(the bare client: N messages received; the hub: N event rows committed and
PUBACKed, then checked by SQL).  The *live round* runs the hub and the
publishers together and reports the journaled rate it sustains.  Consumers and
publishers each run in their own (spawned) process, so the hub's RSS is that of
a process running only the hub.  Method and caveats: bench/README.md.  The broker,
the child processes and the publishers are in bench/ingest_load.py, the consumers in
bench/ingest_drain.py; the rounds and the CLI here.

    .venv/bin/python -m bench.ingest [--events N] [--devices D] [--publishers P] [--rounds R]
        [--live-seconds S] [--live-rate EPS] [--bare] [--quick]
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
import time
from contextlib import suppress
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from pydantic import BaseModel, ConfigDict
from rich.console import Console
from rich.table import Table

from bench.broker import mosquitto, mosquitto_exe
from bench.ingest_drain import (
    FILTER,
    HUB_CLIENT,
    RAW_CLIENT,
    Drain,
    HubJob,
    hub_child,
    raw_child,
)
from bench.ingest_load import (
    SEQ_STRIDE,
    STORE,
    BenchError,
    child,
    publish,
    recv,
    session,
)

GOAL = 0.6  # hub drain rate / bare-client drain rate


class Options(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    events: int = 50_000
    devices: int = 50
    publishers: int = 2
    rounds: int = 2
    live_seconds: float = 10.0
    #: Total events/s the publishers offer in the live round; 0 = as fast as they can.
    live_rate: float = 0.0
    #: Run the hub without its plugins (rules, store API): ingest alone.
    bare: bool = False
    command: str = ""


class Live(BaseModel):
    """The live round: the hub beside the publishers."""

    model_config = ConfigDict(frozen=True)

    drain: Drain
    events: int
    offered_eps: float
    journaled_eps: float  # rows the hub committed per second inside the window
    hub_cpu: float  # CPU the hub's process used inside the window, in cores
    backlog: int  # published but not yet journaled when the publishers stopped


class Figures(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    date: str
    command: str
    machine: str
    cpus: int
    python: str
    mosquitto: str
    events: int
    devices: int
    publishers: int
    rounds: int
    hub_plugins: list[str]
    preload_eps: list[float]
    raw_drain_eps: list[float]
    hub_drain_eps: list[float]
    raw_drain_best_eps: float
    hub_drain_best_eps: float
    ratio: float
    goal: float
    raw_cpu_us: list[float]  # CPU µs per event of the consumer's process, per round
    hub_cpu_us: list[float]
    cpu_ratio: float  # best raw CPU cost / best hub CPU cost: the ratio, CPU-bound
    live_seconds: float
    live_rate: float
    live_offered_eps: float
    live_journaled_eps: float
    live_hub_cpu: float
    live_backlog: int
    live_events: int
    lost: int
    duplicates: int
    deadletters: int
    journal_batches: int
    journal_avg_batch: float
    hub_rss_base_mib: float
    hub_rss_peak_mib: float
    raw_rss_peak_mib: float


# -- rounds ------------------------------------------------------------------------


class Bench:
    def __init__(self, opts: Options, tmp: Path, port: int) -> None:
        self.opts, self.tmp, self.port, self.phase = opts, tmp, port, 0
        self.devices = [f"door-{i:03d}" for i in range(opts.devices)]
        self.config = tmp / "store.toml"
        self.config.write_text(
            f'[store]\nid = "{STORE}"\n\n'
            + "".join(
                f'[[devices]]\nid = "{d}"\nkind = "door"\nzone = "entrance"\n\n'
                for d in self.devices
            )
        )
        self.timeout = 120 + opts.events / 500

    def hub_job(self, expected: dict[str, int] | None) -> HubJob:
        return HubJob(
            config=self.config,
            data_dir=self.tmp / f"hub-{self.phase}",
            port=self.port,
            seq_base=self.phase * SEQ_STRIDE,
            bare=self.opts.bare,
            limit_s=self.timeout - 10,
            expected=expected,
        )

    def drain_round(self, hub_first: bool) -> tuple[Drain, Drain, float]:
        """Preload N events for both sessions at once, then drain: (raw, hub, preload eps)."""
        self.phase += 1
        for client in (RAW_CLIENT, HUB_CLIENT):
            session(self.port, client, FILTER)
        pub = publish(self.port, self.devices, self.opts.publishers, self.phase, self.opts.events)
        results: dict[str, Drain] = {}
        for consumer in ("hub", "raw") if hub_first else ("raw", "hub"):
            args = (
                (hub_child, self.hub_job(pub.counts))
                if consumer == "hub"
                else (raw_child, self.port, pub.total)
            )
            with child(*args) as conn:
                result = recv(conn, self.timeout, f"{consumer} drain")
            results[consumer] = result[0] if consumer == "hub" else result
        for client in (RAW_CLIENT, HUB_CLIENT):
            session(self.port, client, None)
        return results["raw"], results["hub"], pub.total / (pub.acked - pub.first)

    def live_round(self) -> Live:
        """Hub and publishers at once, for ``live_seconds`` after a warm-up."""
        self.phase += 1
        warmup = min(1.0, self.opts.live_seconds / 4)
        with child(hub_child, self.hub_job(None)) as conn:
            if recv(conn, 120, "hub start") != "ready":
                raise BenchError("the hub did not get ready")
            pub = publish(
                self.port,
                self.devices,
                self.opts.publishers,
                self.phase,
                None,
                until=lambda: time.sleep(warmup + self.opts.live_seconds),
                rate=self.opts.live_rate,
            )
            conn.send(pub.counts)
            drain, samples = recv(conn, self.timeout, "hub live")
        window = [s for s in samples if pub.last_start + warmup <= s[0] <= pub.stopped]
        if len(window) < 2 or window[-1][0] <= window[0][0]:
            raise BenchError("the live window holds too few samples (raise --live-seconds)")
        (t0, n0, c0), (t1, n1, c1) = window[0], window[-1]
        return Live(
            drain=drain,
            events=pub.total,
            offered_eps=pub.total / (pub.stopped - pub.first),
            journaled_eps=(n1 - n0) / (t1 - t0),
            hub_cpu=(c1 - c0) / (t1 - t0),
            backlog=max(0, pub.total - (n1 - samples[0][1])),
        )


def run_bench(opts: Options) -> Figures:
    """Every round, then the figures (the CLI prints them)."""
    raws: list[Drain] = []
    hubs: list[Drain] = []
    preloads: list[float] = []
    with (
        tempfile.TemporaryDirectory(prefix="storehub-bench-") as tmp,
        mosquitto(Path(tmp), queued=max(10 * opts.events, 1_000_000)) as port,
    ):
        bench = Bench(opts, Path(tmp), port)
        for r in range(opts.rounds):  # alternate who drains first
            raw, hub, preload = bench.drain_round(hub_first=r % 2 == 1)
            raws.append(raw)
            hubs.append(hub)
            preloads.append(preload)
        live = bench.live_round()
    raw_best, hub_best = max(d.rate for d in raws), max(d.rate for d in hubs)
    raw_cpu, hub_cpu = min(d.cpu_us for d in raws), min(d.cpu_us for d in hubs)
    every_hub = [*hubs, live.drain]
    batches = sum(d.batches for d in hubs)
    return Figures(
        date=date.today().isoformat(),
        command=opts.command,
        machine=_cpu_model(),
        cpus=os.cpu_count() or 0,
        python=platform.python_version(),
        mosquitto=_mosquitto(),
        events=opts.events,
        devices=opts.devices,
        publishers=min(opts.publishers, opts.devices),
        rounds=opts.rounds,
        hub_plugins=live.drain.plugins,
        preload_eps=[round(p) for p in preloads],
        raw_drain_eps=[round(d.rate) for d in raws],
        hub_drain_eps=[round(d.rate) for d in hubs],
        raw_drain_best_eps=round(raw_best),
        hub_drain_best_eps=round(hub_best),
        ratio=round(hub_best / raw_best, 3),
        goal=GOAL,
        raw_cpu_us=[round(d.cpu_us, 1) for d in raws],
        hub_cpu_us=[round(d.cpu_us, 1) for d in hubs],
        cpu_ratio=round(raw_cpu / hub_cpu, 3) if hub_cpu else 0.0,
        live_seconds=opts.live_seconds,
        live_rate=opts.live_rate,
        live_offered_eps=round(live.offered_eps),
        live_journaled_eps=round(live.journaled_eps),
        live_hub_cpu=round(live.hub_cpu, 2),
        live_backlog=live.backlog,
        live_events=live.events,
        lost=sum(d.lost for d in [*raws, *every_hub]),
        duplicates=sum(d.duplicates for d in every_hub),
        deadletters=sum(d.deadletters for d in every_hub),
        journal_batches=batches,
        journal_avg_batch=round(sum(d.events for d in hubs) / batches, 1) if batches else 0.0,
        hub_rss_base_mib=round(min(d.rss_base_kib for d in every_hub) / 1024, 1),
        hub_rss_peak_mib=round(max(d.rss_peak_kib for d in every_hub) / 1024, 1),
        raw_rss_peak_mib=round(max(d.rss_peak_kib for d in raws) / 1024, 1),
    )


def _mosquitto() -> str:
    out = subprocess.run(
        [mosquitto_exe(), "-h"], capture_output=True, text=True, check=False
    ).stdout
    return out.splitlines()[0].removeprefix("mosquitto version ") if out else "?"


def _cpu_model() -> str:
    with suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


# -- CLI ----------------------------------------------------------------------------


def render(f: Figures) -> Table:
    table = Table(
        title=f"storehub ingest — {f.events:,} events, {f.devices} doors, "
        f"{f.publishers} publisher processes, {f.rounds} round(s)"
    )
    for column, justify in (("figure", "left"), ("value", "right"), ("note", "left")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    verdict = "[green]meets it[/]" if f.ratio >= f.goal else "[red]below[/]"
    for row in (
        (
            "bare aiomqtt drain",
            f"{f.raw_drain_best_eps:,.0f} ev/s",
            f"best of {f.raw_drain_eps}; auto-ack, only counts",
        ),
        (
            "hub drain",
            f"{f.hub_drain_best_eps:,.0f} ev/s",
            f"best of {f.hub_drain_eps}; journaled, PUBACKed",
        ),
        ("hub / bare", f"{f.ratio:.2f}×", f"goal ≥ {f.goal}×: {verdict}"),
        (
            "CPU per event",
            f"{min(f.hub_cpu_us):,.0f} µs",
            f"hub {f.hub_cpu_us}, bare {f.raw_cpu_us}: bare/hub {f.cpu_ratio:.2f}×",
        ),
        (
            "live, journaled",
            f"{f.live_journaled_eps:,.0f} ev/s",
            f"{f.live_seconds:g} s beside the publishers, offered {f.live_offered_eps:,.0f} ev/s; "
            f"hub used {f.live_hub_cpu:.2f} CPU; backlog at stop {f.live_backlog:,}",
        ),
        (
            "lost / duplicated",
            f"{f.lost} / {f.duplicates}",
            f"SQL, per device; dead letters {f.deadletters}",
        ),
        (
            "journal commits",
            f"{f.journal_batches:,}",
            f"{f.journal_avg_batch:,.1f} items per commit (drain rounds)",
        ),
        (
            "hub RSS",
            f"{f.hub_rss_peak_mib:.1f} MiB",
            f"peak of the hub's process; {f.hub_rss_base_mib:.1f} MiB before Hub()",
        ),
        ("bare client RSS", f"{f.raw_rss_peak_mib:.1f} MiB", "peak of its process"),
        ("preload", f"{max(f.preload_eps):,.0f} ev/s", f"publishers, rounds {f.preload_eps}"),
        (
            "machine",
            f"{f.cpus} CPUs",
            f"{f.machine}; Python {f.python}; Mosquitto "
            f"{f.mosquitto}; plugins {f.hub_plugins or 'none'}",
        ),
    ):
        table.add_row(*row)
    return table


app = typer.Typer(add_completion=False)


@app.command()
def main(
    events: Annotated[int, typer.Option(help="Events per drain round.")] = 50_000,
    devices: Annotated[int, typer.Option(help="Simulated doors.")] = 50,
    publishers: Annotated[int, typer.Option(help="Publisher processes.")] = 2,
    rounds: Annotated[int, typer.Option(help="Drain rounds (best counts).")] = 2,
    live_seconds: Annotated[float, typer.Option(help="Length of the live round.")] = 10.0,
    live_rate: Annotated[
        float, typer.Option(help="Live events/s offered; 0 = all they can.")
    ] = 0.0,
    bare: Annotated[bool, typer.Option(help="Hub without plugins (rules, store API).")] = False,
    quick: Annotated[
        bool, typer.Option(help="Smoke run: ≤5,000 events, 1 round, 2 s live.")
    ] = False,
) -> None:
    """The hub's sustained QoS 1 ingest vs. a bare aiomqtt client on the same broker."""
    if quick:
        events, rounds, live_seconds = min(events, 5_000), 1, min(live_seconds, 2.0)
    command = " ".join([".venv/bin/python -m bench.ingest", *sys.argv[1:]])
    figures = run_bench(
        Options(
            events=events,
            devices=devices,
            publishers=publishers,
            rounds=rounds,
            live_seconds=live_seconds,
            live_rate=live_rate,
            bare=bare,
            command=command,
        )
    )
    Console().print(render(figures))
    print(figures.model_dump_json())
    if figures.lost or figures.duplicates:
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
