"""The ingest bench's consumers (bench/ingest.py): the bare client that is the ceiling,
and the hub, each timed in its own process until it holds every event."""

from __future__ import annotations

import asyncio
import time
from contextlib import suppress
from multiprocessing.connection import Connection
from pathlib import Path

import aiomqtt
from pydantic import BaseModel, ConfigDict

from bench.ingest_load import STORE, cpu_s, peak_kib, rss_kib
from hub import topics
from hub.config import EnvSettings, load_config
from hub.db import connect_reader
from hub.hub import Hub

HUB_CLIENT = f"storehub-{STORE}"  # the hub's own client id (its persistent session)
RAW_CLIENT = "bench-raw"
FILTER = topics.device_filters(STORE)[0]
STALL_S = 30.0  # a consumer that makes no progress for this long has lost messages

#: A live-round sample in the hub's process: (monotonic s, journal.committed, CPU s).
Sample = tuple[float, int, float]


class Drain(BaseModel):
    """What one consumer did in one round."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    consumer: str
    events: int
    seconds: float
    cpu_s: float = 0.0
    lost: int = 0
    duplicates: int = 0
    deadletters: int = 0
    batches: int = 0
    rss_base_kib: int = 0
    rss_peak_kib: int = 0
    plugins: list[str] = []

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0

    @property
    def cpu_us(self) -> float:
        """CPU time of the consumer's process per event."""
        return 1e6 * self.cpu_s / self.events if self.events else 0.0


# -- consumers -------------------------------------------------------------------


def raw_child(port: int, events: int, conn: Connection) -> None:
    conn.send(asyncio.run(_raw_drain(port, events)))


async def _raw_drain(port: int, events: int) -> Drain:
    """The ceiling: a bare aiomqtt client (auto-ack) that only counts messages."""
    base, count = rss_kib(), 0
    t0, cpu0 = time.monotonic(), cpu_s()
    with suppress(TimeoutError):
        async with aiomqtt.Client(
            "127.0.0.1", port, identifier=RAW_CLIENT, clean_session=False
        ) as client:
            await client.subscribe(FILTER, qos=1)
            messages = aiter(client.messages)
            while count < events:
                async with asyncio.timeout(STALL_S):
                    await anext(messages)
                count += 1
    return Drain(
        consumer="raw",
        events=count,
        seconds=time.monotonic() - t0,
        cpu_s=cpu_s() - cpu0,
        lost=events - count,
        rss_base_kib=base,
        rss_peak_kib=peak_kib(),
    )


class HubJob(BaseModel):
    """What one hub process is to do (pickled into it)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    config: Path
    data_dir: Path
    port: int
    seq_base: int
    bare: bool
    limit_s: float
    #: Per-device counts to wait for; ``None``: live, the parent sends them at the end.
    expected: dict[str, int] | None = None


def hub_child(job: HubJob, conn: Connection) -> None:
    conn.send(asyncio.run(asyncio.wait_for(_hub_run(job, conn), job.limit_s)))  # noqa: TID251


async def _hub_run(job: HubJob, conn: Connection) -> tuple[Drain, list[Sample]]:
    """Time the hub until it has journaled ``expected``.  Live (``expected=None``): say
    "ready", sample ``journal.committed`` every 0.1 s until the parent sends the counts."""
    url = f"mqtt://127.0.0.1:{job.port}"
    cfg = load_config(
        EnvSettings(config=job.config, data_dir=job.data_dir, broker_url=url, api_port=0)
    )  # port 0: no store API
    base, expected = rss_kib(), job.expected
    samples: list[Sample] = []
    async with Hub(cfg, plugins=[] if job.bare else None) as hub:
        assert hub.ingest is not None
        batches0, t0, cpu0 = hub.journal.batches, time.monotonic(), cpu_s()
        if expected is None:
            await hub.wait_ready()
            conn.send("ready")
            while not conn.poll():
                samples.append((time.monotonic(), hub.journal.committed, cpu_s()))
                await asyncio.sleep(0.1)
            expected = conn.recv()
            assert expected is not None
        total, seen, progress = sum(expected.values()), -1, time.monotonic()
        while (got := hub.ingest.accepted + hub.ingest.duplicates + hub.ingest.rejected) < total:
            if got != seen:
                seen, progress = got, time.monotonic()
            elif time.monotonic() - progress > STALL_S:
                break  # what is missing is counted as lost below
            await asyncio.sleep(0.005)
        await hub.journal.flush()
        seconds, cpu = time.monotonic() - t0, cpu_s() - cpu0
        batches = hub.journal.batches - batches0
        lost, dups, dead = verify(hub, expected, job.seq_base)
        plugins = [getattr(p, "__module__", "?") for p in hub.plugins]
    return Drain(
        consumer="hub",
        events=total - lost,
        seconds=seconds,
        cpu_s=cpu,
        lost=lost,
        duplicates=dups,
        deadletters=dead,
        batches=batches,
        rss_base_kib=base,
        rss_peak_kib=peak_kib(),
        plugins=plugins,
    ), samples


def verify(hub: Hub, expected: dict[str, int], seq_base: int) -> tuple[int, int, int]:
    """(lost, duplicated, dead-lettered), by SQL: every device has exactly the events
    ``seq_base .. seq_base + count - 1``, each once, each with its outbox row."""
    db = connect_reader(hub.db_path)
    try:
        rows = {
            r[0]: tuple(r[1:])
            for r in db.execute(
                "SELECT device, COUNT(*), COUNT(DISTINCT seq), MIN(seq), MAX(seq) FROM journal"
                " WHERE type='event' GROUP BY device"
            )
        }
        outbox = int(db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
        dead = int(db.execute("SELECT COUNT(*) FROM deadletter").fetchone()[0])
    finally:
        db.close()
    lost = dups = 0
    for device, want in expected.items():
        n, distinct, lo, hi = rows.pop(device, (0, 0, seq_base, seq_base))
        dups += n - distinct
        lost += want - (distinct if lo >= seq_base and hi < seq_base + want else 0)
    dups += sum(r[0] for r in rows.values())  # rows of devices that published nothing
    lost += max(0, sum(expected.values()) - outbox)  # an event without its outbox row
    return lost, dups, dead
