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
a process running only the hub.  Method and caveats: bench/README.md.

    .venv/bin/python -m bench.ingest [--events N] [--devices D] [--publishers P] [--rounds R]
        [--live-seconds S] [--live-rate EPS] [--bare] [--quick]
"""

from __future__ import annotations

import asyncio
import getpass
import multiprocessing as mp
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from datetime import date
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event as MpEvent
from pathlib import Path
from typing import Annotated, Any

import aiomqtt
import paho.mqtt.client as mqtt
import typer
from paho.mqtt.enums import CallbackAPIVersion
from pydantic import BaseModel, ConfigDict
from rich.console import Console
from rich.table import Table

from hub import topics
from hub.broker import free_port
from hub.config import EnvSettings, load_config
from hub.db import connect_reader
from hub.hub import Hub

STORE = "s1"
HUB_CLIENT = f"storehub-{STORE}"  # the hub's own client id (its persistent session)
RAW_CLIENT = "bench-raw"
FILTER = topics.device_filters(STORE)[0]
INFLIGHT = 1000  # the broker's max_inflight_messages, and each publisher's window
GOAL = 0.6  # hub drain rate / bare-client drain rate
SEQ_STRIDE = 10_000_000  # phase k numbers its events from k * SEQ_STRIDE
STALL_S = 30.0  # a consumer that makes no progress for this long has lost messages
_mp = mp.get_context("spawn")

#: A live-round sample in the hub's process: (monotonic s, journal.committed, CPU s).
Sample = tuple[float, int, float]


class BenchError(RuntimeError):
    """A round could not complete: a child process failed or a wait timed out."""


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


# -- broker and sessions ------------------------------------------------------


@contextmanager
def mosquitto(workdir: Path, queued: int) -> Iterator[int]:
    """A throwaway anonymous Mosquitto on a free loopback port; yields the port."""
    port = free_port()
    conf = workdir / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        f"max_inflight_messages {INFLIGHT}\nmax_queued_messages {queued}\n"
        # As root Mosquitto would otherwise switch to the 'mosquitto' user.
        + (f"user {getpass.getuser()}\n" if os.geteuid() == 0 else "")
    )
    proc = subprocess.Popen(
        [_mosquitto_exe(), "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        session(port, "bench-probe", None)  # returns once the broker takes clients
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


def session(port: int, client_id: str, topic: str | None, timeout: float = 10) -> None:
    """``topic``: leave a persistent session subscribed to it; ``None``: wipe ``client_id``'s."""
    done = threading.Event()
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=topic is None
    )
    if topic is None:
        client.on_connect = lambda *_: done.set()
    else:
        client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
        client.on_subscribe = lambda *_: done.set()
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.connect("127.0.0.1", port, keepalive=30)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise BenchError(f"mosquitto on port {port} does not answer") from None
            time.sleep(0.05)
    client.loop_start()
    try:
        if not done.wait(max(deadline - time.monotonic(), 1)):
            raise BenchError(f"session {client_id}: no CONNACK/SUBACK")
    finally:
        client.disconnect()
        client.loop_stop()


# -- child processes ------------------------------------------------------------


@contextmanager
def _child(target: Callable[..., None], *args: Any) -> Iterator[Connection]:
    """Run ``target(*args, conn)`` in a spawned process; yields our end of the pipe."""
    ours, theirs = _mp.Pipe()
    proc = _mp.Process(target=target, args=(*args, theirs), daemon=True)
    proc.start()
    theirs.close()  # so that a child that dies reads as EOF, not as silence
    try:
        yield ours
    finally:
        proc.join(10)
        if proc.is_alive():
            proc.terminate()


def _recv(conn: Connection, timeout: float, what: str) -> Any:
    if not conn.poll(timeout):
        raise BenchError(f"{what}: no answer within {timeout:.0f}s")
    try:
        return conn.recv()
    except EOFError:
        raise BenchError(f"{what}: the process died (its traceback is above)") from None


def _rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _peak_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def _cpu_s() -> float:
    """CPU seconds of this process so far, all threads, user + system."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# -- publishers ------------------------------------------------------------------


def _passage(ts: float, seq: int) -> bytes:
    return b'{"ts":%.3f,"seq":%d,"direction":"in"}' % (ts, seq)


def _publisher(
    port: int,
    index: int,
    quota: dict[str, int] | None,
    devices: list[str],
    seq_base: int,
    rate: float,
    stop: MpEvent,
    conn: Connection,
) -> None:
    """Publish each device's ``quota`` (pre-serialised), or round-robin until ``stop``
    (at ``rate`` events/s if it is not 0).

    Sends ``t_first`` when it starts, then ``(counts, t_first, t_sent, t_acked)``.
    A semaphore keeps at most ``INFLIGHT`` messages unacknowledged.
    """
    window = threading.Semaphore(INFLIGHT)
    connected = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{index}")
    client.max_inflight_messages_set(INFLIGHT)
    client.max_queued_messages_set(0)
    client.on_connect = lambda *_: connected.set()
    client.on_publish = lambda *_: window.release()
    client.connect("127.0.0.1", port, keepalive=60)
    client.loop_start()
    if not connected.wait(10):
        raise BenchError(f"publisher {index} could not connect")
    names = [f"store/{STORE}/device/{d}/event/passage" for d in devices]
    counts = [0] * len(devices)
    if quota is not None:
        now, most = time.time(), max(quota.values(), default=0)
        ready = [
            (names[i], _passage(now, seq_base + k))
            for k in range(most)
            for i, d in enumerate(devices)
            if k < quota[d]
        ]
        t_first = time.monotonic()
        conn.send(t_first)
        for name, payload in ready:
            window.acquire()
            client.publish(name, payload, qos=1)
        counts = [quota[d] for d in devices]
    else:
        t_first = time.monotonic()
        conn.send(t_first)
        sent = 0
        while not stop.is_set():
            for i, name in enumerate(names):
                window.acquire()
                client.publish(name, _passage(time.time(), seq_base + counts[i]), qos=1)
                counts[i] += 1
            sent += len(names)
            if rate and (ahead := t_first + sent / rate - time.monotonic()) > 0:
                time.sleep(ahead)
    t_sent = time.monotonic()
    for _ in range(INFLIGHT):  # the whole window is back: every PUBACK is in
        window.acquire()
    t_acked = time.monotonic()
    client.disconnect()
    client.loop_stop()
    conn.send((dict(zip(devices, counts, strict=True)), t_first, t_sent, t_acked))


class Published(BaseModel):
    model_config = ConfigDict(frozen=True)

    counts: dict[str, int]
    first: float  # the first publisher started
    last_start: float  # the last publisher started
    stopped: float  # the first publisher stopped sending
    acked: float  # the last PUBACK came back

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def publish(
    port: int,
    devices: list[str],
    publishers: int,
    phase: int,
    events: int | None,
    until: Callable[[], None] = lambda: None,
    rate: float = 0.0,
) -> Published:
    """N events spread evenly over the devices (device j goes to publisher j mod P), or —
    ``events=None`` — ``rate`` events/s (0: all they can) until ``until()`` returns."""
    p = min(publishers, len(devices))
    stop = _mp.Event()
    quota: dict[str, int] | None = None
    if events is not None:
        per, extra = divmod(events, len(devices))
        quota = {d: per + (j < extra) for j, d in enumerate(devices)}
    with ExitStack() as stack:
        conns = [
            stack.enter_context(
                _child(
                    _publisher, port, i, quota, devices[i::p], phase * SEQ_STRIDE, rate / p, stop
                )
            )
            for i in range(p)
        ]
        starts = [_recv(c, 120, "publisher start") for c in conns]
        until()
        stop.set()
        results = [_recv(c, 60 + (events or 0) / 500, "publisher") for c in conns]
    counts: dict[str, int] = {}
    for c, *_ in results:
        counts.update(c)
    return Published(
        counts=counts,
        first=min(starts),
        last_start=max(starts),
        stopped=min(r[2] for r in results),
        acked=max(r[3] for r in results),
    )


# -- consumers -------------------------------------------------------------------


def _raw_child(port: int, events: int, conn: Connection) -> None:
    conn.send(asyncio.run(_raw_drain(port, events)))


async def _raw_drain(port: int, events: int) -> Drain:
    """The ceiling: a bare aiomqtt client (auto-ack) that only counts messages."""
    base, count = _rss_kib(), 0
    t0, cpu0 = time.monotonic(), _cpu_s()
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
        cpu_s=_cpu_s() - cpu0,
        lost=events - count,
        rss_base_kib=base,
        rss_peak_kib=_peak_kib(),
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


def _hub_child(job: HubJob, conn: Connection) -> None:
    conn.send(asyncio.run(asyncio.wait_for(_hub_run(job, conn), job.limit_s)))  # noqa: TID251


async def _hub_run(job: HubJob, conn: Connection) -> tuple[Drain, list[Sample]]:
    """Time the hub until it has journaled ``expected``.  Live (``expected=None``): say
    "ready", sample ``journal.committed`` every 0.1 s until the parent sends the counts."""
    url = f"mqtt://127.0.0.1:{job.port}"
    cfg = load_config(
        EnvSettings(config=job.config, data_dir=job.data_dir, broker_url=url, api_port=0)
    )  # port 0: no store API
    base, expected = _rss_kib(), job.expected
    samples: list[Sample] = []
    async with Hub(cfg, plugins=[] if job.bare else None) as hub:
        assert hub.ingest is not None
        batches0, t0, cpu0 = hub.journal.batches, time.monotonic(), _cpu_s()
        if expected is None:
            await hub.wait_ready()
            conn.send("ready")
            while not conn.poll():
                samples.append((time.monotonic(), hub.journal.committed, _cpu_s()))
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
        seconds, cpu = time.monotonic() - t0, _cpu_s() - cpu0
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
        rss_peak_kib=_peak_kib(),
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
                (_hub_child, self.hub_job(pub.counts))
                if consumer == "hub"
                else (_raw_child, self.port, pub.total)
            )
            with _child(*args) as conn:
                result = _recv(conn, self.timeout, f"{consumer} drain")
            results[consumer] = result[0] if consumer == "hub" else result
        for client in (RAW_CLIENT, HUB_CLIENT):
            session(self.port, client, None)
        return results["raw"], results["hub"], pub.total / (pub.acked - pub.first)

    def live_round(self) -> Live:
        """Hub and publishers at once, for ``live_seconds`` after a warm-up."""
        self.phase += 1
        warmup = min(1.0, self.opts.live_seconds / 4)
        with _child(_hub_child, self.hub_job(None)) as conn:
            if _recv(conn, 120, "hub start") != "ready":
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
            drain, samples = _recv(conn, self.timeout, "hub live")
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
        mosquitto(Path(tmp), max(10 * opts.events, 1_000_000)) as port,
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


def _mosquitto_exe() -> str:
    return shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def _mosquitto() -> str:
    out = subprocess.run(
        [_mosquitto_exe(), "-h"], capture_output=True, text=True, check=False
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
