"""Cloud sync benchmark: drain queued outbox rows to the reference backend.

    hub.db (N outbox rows, written through the real Journal)
        └─▶ Sync.drain() ─gzip JSON over HTTP─▶ python -m simulators.cloud (own process, own SQLite)

Reports rows/s of the drain (goal ≥ 5,000/s) and the duplicates the cloud applied
(must be 0), counted two independent ways: rows sharing (origin, stream, seq), and
rows sharing the payload's unique ``n``.  A second ("chaos") round drains a fifth as
many rows in smaller batches with the cloud dropping 10 % of connections after
committing and failing 10 % with 503, so re-sends happen and must be deduplicated.

    .venv/bin/python -m bench.sync [--rows 100000] [--batch-rows 1000] [--no-chaos] [--quick]

The VM these run on is shared, so rates move with the load; the CPU time per row of
each side (the store's process, the cloud's process) moves much less.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import resource
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Annotated

import httpx
import typer
from pydantic import BaseModel, ConfigDict
from rich.console import Console
from rich.table import Table

from hub.config import SyncConfig
from hub.journal import Entry, Journal
from hub.sync import HttpCloudAdapter, LogAlerts, Sync

STORE = "s1"
TOKEN = "bench-token"
GOAL = 5000.0
#: How the queued rows are spread over streams (a store's day, roughly).
MIX = (("sales", 4), ("inventory", 2), ("traffic", 2), ("alerts", 1), ("device_health", 1))
REPO = Path(__file__).resolve().parent.parent


class Round(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    rows: int
    seconds: float
    batches: int
    #: Upload bodies before and after gzip.
    bytes_raw: int
    bytes_sent: int
    duplicates_received: int
    duplicates_applied: int
    duplicates_by_payload: int
    out_of_order: int
    cloud_records: int
    #: CPU seconds per row: this process (uploader + journal writer), the cloud's process.
    store_cpu_us: float
    cloud_cpu_us: float

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


class Figures(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    date: str
    machine: str
    cpus: int
    python: str
    rows: int
    batch_rows: int
    row_bytes: int
    rounds: list[Round]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def fill(db: Path, rows: int) -> int:
    """Queue ``rows`` outbox rows through the real journal; returns bytes per row."""
    journal = Journal(db, batch_max=2000)
    await journal.open()
    writer = asyncio.create_task(journal.run())
    streams = [name for name, weight in MIX for _ in range(weight)]
    size = 0
    for n in range(rows):
        stream = streams[n % len(streams)]
        data = json.dumps(
            {
                "n": n,
                "sale": f"S{n:08d}",
                "kiosk": "kiosk-1",
                "total": 1250,
                "currency": "CNY",
                "lines": [{"gtin": "06901234567892", "qty": 1, "price": 1250}],
                "ts": time.time(),
            }
        )
        size += len(data)
        await journal.append(Entry(type="event", ts=time.time(), data=data, stream=stream))
    await journal.flush()
    writer.cancel()
    await asyncio.gather(writer, return_exceptions=True)
    journal.close()
    return size // max(rows, 1)


class Cloud:
    """The reference backend in its own process (the second core)."""

    def __init__(self, workdir: Path) -> None:
        self.port = _free_port()
        self.db = workdir / "cloud.db"
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "simulators.cloud",
                "--port",
                str(self.port),
                "--db",
                str(self.db),
                "--token",
                f"{STORE}={TOKEN}",
            ],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{self.url}/admin/stats", timeout=1)
                return
            except httpx.HTTPError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("the reference cloud did not start") from None
                time.sleep(0.1)

    def arm(self, **fault: object) -> None:
        httpx.post(f"{self.url}/admin/faults", json=fault).raise_for_status()

    def stats(self) -> dict[str, int]:
        body = httpx.get(f"{self.url}/admin/stats").json()
        conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)
        try:  # independent of the key: the payload's own unique number
            by_payload = conn.execute(
                "SELECT COUNT(*) - COUNT(DISTINCT origin || ':' || json_extract(data, '$.n'))"
                " FROM records"
            ).fetchone()[0]
        finally:
            conn.close()
        return {**body, "by_payload": int(by_payload)}

    def cpu(self) -> float:
        """CPU seconds the cloud's process has used."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


async def drain(db: Path, cloud: Cloud, batch_rows: int, name: str) -> Round:
    journal = Journal(db)
    await journal.open()
    writer = asyncio.create_task(journal.run())
    config = SyncConfig(
        enabled=True,
        url=cloud.url,
        batch_rows=batch_rows,
        batch_bytes=4_000_000,
        backoff_min_s=0.01,
        backoff_max_s=0.2,
        timeout_s=10,
    )
    adapter = HttpCloudAdapter(cloud.url, STORE, TOKEN, timeout=config.timeout_s)
    before = cloud.stats()
    async with Sync(
        store_id=STORE,
        journal=journal,
        db_path=db,
        config=config,
        uploads=adapter,
        pulls=None,
        alerts=LogAlerts(),
    ) as sync:
        cpu0, cloud0, t0 = _own_cpu(), cloud.cpu(), time.perf_counter()
        rows = await sync.drain()
        seconds = time.perf_counter() - t0
        store_cpu, cloud_cpu = _own_cpu() - cpu0, cloud.cpu() - cloud0
    writer.cancel()
    await asyncio.gather(writer, return_exceptions=True)
    journal.close()
    after = cloud.stats()
    return Round(
        name=name,
        rows=rows,
        seconds=seconds,
        batches=int(
            sum(
                s.value
                for m in sync.metrics.batches.collect()
                for s in m.samples
                if s.name.endswith("_total")
            )
        ),
        bytes_raw=adapter.bytes_raw,
        bytes_sent=adapter.bytes_sent,
        duplicates_received=after["duplicates_received"] - before["duplicates_received"],
        duplicates_applied=after["duplicates_applied"],
        duplicates_by_payload=after["by_payload"],
        out_of_order=after["out_of_order"],
        cloud_records=after["records"],
        store_cpu_us=store_cpu / max(rows, 1) * 1e6,
        cloud_cpu_us=cloud_cpu / max(rows, 1) * 1e6,
    )


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def run_bench(rows: int, batch_rows: int, *, chaos: bool = True) -> Figures:
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as tmp:
        work = Path(tmp)
        cloud = Cloud(work)
        try:
            row_bytes = await fill(work / "clean.db", rows)
            rounds = [await drain(work / "clean.db", cloud, batch_rows, "clean")]
            if chaos:
                chaos_rows = max(rows // 5, 1)
                await fill(work / "chaos.db", chaos_rows)
                cloud.arm(mode="drop", times=None, rate=0.1, target="outbox")
                cloud.arm(mode="error", times=None, rate=0.1, target="outbox")
                small = max(batch_rows // 5, 1)  # more batches, more faults
                rounds.append(await drain(work / "chaos.db", cloud, small, "chaos"))
        finally:
            cloud.stop()
    return Figures(
        date=date.today().isoformat(),
        machine=f"{platform.machine()} {platform.processor()}",
        cpus=os.cpu_count() or 0,
        python=platform.python_version(),
        rows=rows,
        batch_rows=batch_rows,
        row_bytes=row_bytes,
        rounds=rounds,
    )


def report(fig: Figures, console: Console) -> None:
    table = Table(
        title=f"cloud sync drain: {fig.rows:,} rows of ~{fig.row_bytes} B, "
        f"batches of {fig.batch_rows}, {fig.cpus} CPUs"
    )
    for col in (
        "round",
        "rows",
        "seconds",
        "rows/s",
        "batches",
        "KiB raw / gzip",
        "re-sends deduped",
        "duplicates applied",
        "out of order",
        "CPU µs/row store",
        "CPU µs/row cloud",
    ):
        table.add_column(col, justify="right")
    for r in fig.rounds:
        table.add_row(
            r.name,
            f"{r.rows:,}",
            f"{r.seconds:.2f}",
            f"{r.rate:,.0f}",
            str(r.batches),
            f"{r.bytes_raw / 1024:,.0f} / {r.bytes_sent / 1024:,.0f}",
            str(r.duplicates_received),
            f"{r.duplicates_applied} / {r.duplicates_by_payload}",
            str(r.out_of_order),
            f"{r.store_cpu_us:.0f}",
            f"{r.cloud_cpu_us:.0f}",
        )
    console.print(table)


app = typer.Typer(add_completion=False)


@app.command()
def main(
    rows: Annotated[int, typer.Option(help="Outbox rows to drain.")] = 100_000,
    batch_rows: Annotated[int, typer.Option(help="Rows per upload.")] = 1000,
    quick: Annotated[bool, typer.Option(help="Smoke run: 5,000 rows.")] = False,
    chaos: Annotated[bool, typer.Option(help="Also run the chaos round.")] = True,
) -> None:
    """Drain queued outbox rows to the reference cloud; rows/s and duplicates applied."""
    fig = asyncio.run(run_bench(5000 if quick else rows, batch_rows, chaos=chaos))
    console = Console(width=160)  # the table is wide; never squeeze it into 80 columns
    report(fig, console)
    clean = fig.rounds[0]
    ok = all(
        r.duplicates_applied == 0 and r.duplicates_by_payload == 0 and r.out_of_order == 0
        for r in fig.rounds
    )
    console.print(
        f"goal ≥ {GOAL:,.0f} rows/s: {'met' if clean.rate >= GOAL else 'NOT met'}; "
        f"duplicates applied: {'0' if ok else 'SOME'}"
    )
    print(fig.model_dump_json())  # one JSON line of figures, as every bench ends
    if not ok:
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
