"""RFID leaving-tag alarm latency, with thousands of other events per second flowing.

    load publishers (P processes, QoS 1: door passages, kiosk scans) ───────┐
                                                                            ├▶ mosquitto ─▶ hub
    gate walkers (1 process, a paho client per gate: unpaid and paid walks) ┘      │
                            ▲                                                       │
                            └──────────────── command/alarm ◀───────────────────────┘

The hub runs in this process (the real :class:`hub.hub.Hub`, external broker),
everything else in spawned processes.  Each gate walks one tag at a time out of
the store — a ``reads`` event on the inside antenna, 100 ms later one on the
outside antenna — and waits for the ``alarm`` command; one walk in
``paid_every`` carries a tag that was marked paid and must raise nothing.

Two latencies per alarm:

- **in the hub**: from ingest accepting the deciding ``reads`` event (its
  ``received`` time) to the alarm's PUBLISH being handed to the MQTT transport
  (``MqttTransport.publish`` is wrapped to note the time) — the contract's goal,
  p99 < 50 ms;
- **end to end at the device**: from the gate publishing the outside event to the
  gate receiving the ``alarm`` command (same machine, same clock), and the part of
  it until the hub's ingest accepted the event.

The load publishers write QoS 1 PUBLISH packets to their socket themselves (paho
spends ~0.5 ms of CPU per message: on a small machine it would starve the hub);
``raw_load=False`` uses paho.  Figures: docs/benchmarks.md.

    .venv/bin/python -m bench.rfid [--rate 2500] [--gates 8] [--walks 60] [--plugins gate] [--quick]
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import os
import platform
import resource
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import date
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Annotated, Any

import paho.mqtt.client as mqtt
import typer
from paho.mqtt.enums import CallbackAPIVersion
from pydantic import BaseModel, ConfigDict
from rich.console import Console
from rich.table import Table

from bench.broker import mosquitto
from devices.rfid_gate.epc import gtin_to_sgtin_hex
from hub.config import EnvSettings, load_config
from hub.hub import Hub, Plugin
from rules import gate

STORE = "s1"
REPO = Path(__file__).resolve().parent.parent
INFLIGHT = 1000
GOAL_MS = 50.0
_mp = mp.get_context("spawn")


class Options(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    rate: float = 2500.0  # background events/s offered
    publishers: int = 2
    doors: int = 40
    kiosks: int = 10
    gates: int = 8
    walks: int = 60  # per gate
    paid_every: int = 5  # one walk in N carries a paid tag
    warmup_s: float = 2.0
    plugins: str = "all"  # "all": the built-in plugins; "gate": only rules.gate
    raw_load: bool = True  # load publishers write MQTT packets themselves (else paho)
    command: str = ""


class Figures(BaseModel):
    model_config = ConfigDict(frozen=True)

    date: str
    command: str
    machine: str
    cpus: int
    load_avg: float  # the machine's 1-minute load average before the run (others' work)
    python: str
    plugins: list[str]
    background_offered_eps: float
    background_hub_eps: float  # accepted by the hub during the walks (gates excluded)
    hub_cpu: float  # CPUs the hub's process used during the walks
    rejected: int  # dead-lettered by the hub (must be 0)
    walks_unpaid: int
    walks_paid: int
    alarms: int  # alarms the gates received for unpaid walks (within 15 s)
    missed: int  # unpaid walks whose gate got no alarm within 15 s
    hub_alarms: int  # alarms the hub sent
    paid_alarms: int  # alarms or alerts the hub raised for a paid tag (must be 0)
    unpaid_exit_alerts: int
    hub_ms: dict[str, float]  # received → alarm PUBLISH handed to the transport
    to_hub_ms: dict[str, float]  # device publish → the hub's ingest accepts it (broker, queues)
    alert_ms: dict[str, float]  # received → the unpaid_exit alert's PUBLISH handed over
    device_ms: dict[str, float]  # device publish → device receives the alarm
    goal_ms: float = GOAL_MS


def stats(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    v = sorted(values)

    def pct(p: float) -> float:
        return round(v[min(len(v) - 1, int(p * len(v)))], 2)

    return {
        "n": len(v),
        "p50": pct(0.50),
        "p95": pct(0.95),
        "p99": pct(0.99),
        "max": round(v[-1], 2),
    }


# -- broker and store ------------------------------------------------------------


def _connect(client: mqtt.Client, port: int, timeout: float = 10) -> mqtt.Client:
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.connect("127.0.0.1", port, keepalive=30)
            return client
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"mosquitto on port {port} does not answer") from None
            time.sleep(0.05)


def write_store(workdir: Path, opts: Options) -> Path:
    lines = [f'[store]\nid = "{STORE}"\ntimezone = "Asia/Shanghai"\n']
    for i in range(opts.doors):
        lines.append(f'[[devices]]\nid = "door-{i:03d}"\nkind = "door"\n')
    for i in range(opts.kiosks):
        lines.append(f'[[devices]]\nid = "kiosk-{i:03d}"\nkind = "kiosk"\n')
    for i in range(opts.gates):
        # A short passage gap: every walk, 0.5 s apart, is a passage of its own.
        lines.append(
            f'[[devices]]\nid = "gate-{i:02d}"\nkind = "rfid_gate"\nzone = "exit"\n'
            "inside_antennas = [1]\noutside_antennas = [2]\nexit = true\n"
            "passage_gap_s = 0.3\nalarm_seconds = 1\n"
        )
    store = workdir / "store.toml"
    store.write_text("\n".join(lines))
    shutil.copy(REPO / "configs" / "catalog.toml", workdir / "catalog.toml")
    return store


# -- child processes ---------------------------------------------------------------


def _event(dev: str, seq: int) -> tuple[str, str]:
    """A door passage or a kiosk scan of ``dev``: (topic, JSON)."""
    if dev.startswith("door"):
        way = "in" if seq % 2 else "out"
        body = f'{{"ts":{time.time():.3f},"seq":{seq},"direction":"{way}"}}'
        return f"store/{STORE}/device/{dev}/event/passage", body
    body = f'{{"ts":{time.time():.3f},"seq":{seq},"code":"6901234567892","symbology":"ean13"}}'
    return f"store/{STORE}/device/{dev}/event/scan", body


def _load(
    port: int, index: int, devices: list[str], rate: float, raw: bool, conn: Connection
) -> None:
    """Background load, round-robin over ``devices`` at ``rate`` ev/s, QoS 1, at most
    ``INFLIGHT`` unacknowledged; sends the rate it achieved when told to stop."""
    window = threading.Semaphore(INFLIGHT)
    publish = _raw_publisher(port, index, window) if raw else _paho_publisher(port, index, window)
    conn.send("ready")
    seq = int(time.time() * 1000)
    sent, t0 = 0, time.monotonic()
    while not conn.poll():
        for dev in devices:
            seq += 1
            window.acquire()
            publish(*_event(dev, seq))
            sent += 1
        if (ahead := t0 + sent / rate - time.monotonic()) > 0:
            time.sleep(ahead)
    conn.send(sent / (time.monotonic() - t0))


def _paho_publisher(port: int, index: int, window: threading.Semaphore) -> Any:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"load-{index}")
    client.max_inflight_messages_set(INFLIGHT)
    client.on_publish = lambda *_: window.release()
    _connect(client, port).loop_start()
    return lambda topic, body: client.publish(topic, body.encode(), qos=1)


def _raw_publisher(port: int, index: int, window: threading.Semaphore) -> Any:
    """MQTT 3.1.1 QoS 1 PUBLISH packets written straight to a socket.

    paho spends about half a millisecond of CPU per message in Python; 2,000/s of
    it would take the CPUs of a small machine away from the hub being measured.
    """
    sock = socket.create_connection(("127.0.0.1", port))
    client_id = f"load-{index}".encode()
    body = b"\x00\x04MQTT\x04\x02\x00\x3c" + len(client_id).to_bytes(2, "big") + client_id
    sock.sendall(b"\x10" + _varint(len(body)) + body)
    if sock.recv(4)[:1] != b"\x20":
        raise RuntimeError("no CONNACK")

    def acks() -> None:  # every PUBACK (4 bytes) opens the window by one
        pending = 0
        while data := sock.recv(65536):
            pending += len(data)
            for _ in range(pending // 4):
                window.release()
            pending %= 4

    threading.Thread(target=acks, daemon=True).start()
    ids = iter(range(1 << 62))

    def publish(topic: str, payload: str) -> None:
        t = topic.encode()
        rest = len(t).to_bytes(2, "big") + t + (next(ids) % 65535 + 1).to_bytes(2, "big")
        rest += payload.encode()
        sock.sendall(b"\x32" + _varint(len(rest)) + rest)

    return publish


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        n, digit = n >> 7, n & 0x7F
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _walker(port: int, plan: dict[str, list[tuple[str, bool]]], conn: Connection) -> None:
    """Every gate walks its tags out in its own thread; sends the results per walk."""
    results: list[dict[str, Any]] = []
    lock = threading.Lock()

    def walk_gate(gate_id: str, walks: list[tuple[str, bool]]) -> None:
        base = f"store/{STORE}/device/{gate_id}"
        got = threading.Event()
        received: list[float] = []
        seen: set[str] = set()

        def on_message(c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
            body = json.loads(msg.payload)
            c.publish(f"{base}/reply", json.dumps({"id": body["id"], "ok": True}), qos=1)
            if body["id"] not in seen:  # not the hub re-sending one whose reply it missed
                seen.add(body["id"])
                received.append(time.time())
                got.set()

        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"walker-{gate_id}")
        client.on_message = on_message
        _connect(client, port).loop_start()
        client.subscribe(f"{base}/command/alarm", qos=1)
        time.sleep(0.5)  # SUBACK
        seq = int(time.time() * 1000)
        for epc, paid in walks:
            got.clear()
            received.clear()
            now = time.time()
            for antenna, rssi in ((1, -52.0), (2, -47.0)):
                seq += 1
                reads = [
                    {"epc": epc, "antenna": antenna, "rssi": rssi, "ts": now},
                    {"epc": epc, "antenna": antenna, "rssi": rssi - 1.5, "ts": now + 0.02},
                ]
                body = json.dumps({"ts": now + 0.02, "seq": seq, "reads": reads})
                if antenna == 2:
                    time.sleep(0.1)
                    sent = time.time()
                client.publish(f"{base}/event/reads", body, qos=1)
            # An unpaid walk waits for its alarm, so that a late one is never taken for
            # the alarm of the next (paid) walk.
            got.wait(0.6 if paid else 15.0)
            with lock:
                results.append(
                    {
                        "gate": gate_id,
                        "epc": epc,
                        "paid": paid,
                        "e2e_ms": (received[0] - sent) * 1000 if received else None,
                        "sent": sent,
                    }
                )
            time.sleep(0.4)  # more than the passage gap: the next walk is a new passage
        client.disconnect()
        client.loop_stop()

    threads = [threading.Thread(target=walk_gate, args=item) for item in plan.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    conn.send(results)


@contextmanager
def child(target: Any, *args: Any) -> Iterator[Connection]:
    ours, theirs = _mp.Pipe()
    proc = _mp.Process(target=target, args=(*args, theirs), daemon=True)
    proc.start()
    theirs.close()
    try:
        yield ours
    finally:
        proc.join(15)
        if proc.is_alive():
            proc.terminate()


async def recv(conn: Connection, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while not conn.poll():
        if time.monotonic() > deadline:
            raise RuntimeError("a bench process did not answer (its traceback is above)")
        await asyncio.sleep(0.05)
    return conn.recv()


# -- the run -----------------------------------------------------------------------


def make_plan(opts: Options) -> dict[str, list[tuple[str, bool]]]:
    serial = 0
    plan: dict[str, list[tuple[str, bool]]] = {}
    for g in range(opts.gates):
        walks = []
        for w in range(opts.walks):
            serial += 1
            paid = opts.paid_every > 0 and w % opts.paid_every == opts.paid_every - 1
            walks.append((gtin_to_sgtin_hex("80614141123458", serial), paid))
        plan[f"gate-{g:02d}"] = walks
    return plan


async def run(opts: Options, workdir: Path, port: int) -> Figures:
    load_avg = round(os.getloadavg()[0], 2)
    cfg = load_config(
        EnvSettings(
            config=write_store(workdir, opts),
            data_dir=workdir / "data",
            broker_url=f"mqtt://127.0.0.1:{port}",
            api_port=0,
        )
    )
    plan = make_plan(opts)
    plugins: list[Plugin] | None = None if opts.plugins == "all" else [gate.plugin]
    async with Hub(cfg, plugins=plugins) as hub:
        await hub.wait_ready(30)
        svc = gate.service(hub)
        async with asyncio.timeout(30):
            await svc.ready.wait()
        await svc.paid.mark_paid([e for w in plan.values() for e, p in w if p], "bench-sale")
        published: dict[str, tuple[str, float]] = {}  # command id → (gate, when handed over)
        alerted: dict[str, float] = {}  # passage → when its alert was handed over
        transport = hub.transport
        assert transport is not None
        original = transport.publish

        async def timed(topic: str, payload: bytes, **kw: Any) -> None:
            if topic.endswith("/command/alarm"):
                cmd = json.loads(payload)["id"]
                published.setdefault(cmd, (topic.split("/")[3], time.time()))
            elif topic.endswith("/alert") and b"unpaid_exit" in payload:
                # The first publish of a passage's alert (later ones are updates).
                alerted.setdefault(json.loads(payload)["data"]["passage"], time.time())
            await original(topic, payload, **kw)

        transport.publish = timed  # type: ignore[method-assign]
        devices = [d.id for d in hub.registry if d.kind in ("door", "kiosk")]
        shares = [devices[i :: opts.publishers] for i in range(opts.publishers)]
        with ExitStack() as stack:
            loads = [
                stack.enter_context(
                    child(_load, port, i, share, opts.rate / len(shares), opts.raw_load)
                )
                for i, share in enumerate(shares)
                if share
            ]
            for conn in loads:
                assert await recv(conn, 60) == "ready"
            await asyncio.sleep(opts.warmup_s)
            assert hub.ingest is not None
            accepted0, t0, cpu0 = hub.ingest.accepted, time.monotonic(), _cpu_s()
            with child(_walker, port, plan) as walker:
                results: list[dict[str, Any]] = await recv(walker, 60 + 16 * opts.walks)
            accepted1, t1, cpu1 = hub.ingest.accepted, time.monotonic(), _cpu_s()
            for conn in loads:
                conn.send("stop")
            offered = sum([await recv(conn, 30) for conn in loads])  # ev/s
        await asyncio.sleep(0.5)  # the last alerts
        plugin_names = [getattr(p, "__module__", "?") for p in hub.plugins]
        rejected = hub.ingest.rejected
    gate_events = 2 * len(results)
    # Alarms per gate, in order, matched to the gate logic's records in order.
    sent_by_gate: dict[str, list[float]] = {}
    for gate_id, when in published.values():
        sent_by_gate.setdefault(gate_id, []).append(when)
    records: dict[str, list[float]] = {}
    received_at: dict[str, float] = {}
    for rec in svc.alarms:
        records.setdefault(rec.gate, []).append(rec.received)
        received_at.update(dict.fromkeys(rec.epcs, rec.received))
    hub_ms = [
        (s - r) * 1000
        for g, sends in sent_by_gate.items()
        for s, r in zip(sorted(sends), records.get(g, []), strict=False)
    ]
    unpaid = [r for r in results if not r["paid"]]
    paid_walks = [r for r in results if r["paid"]]
    paid_epcs = {r["epc"] for r in paid_walks}
    alerts = [a for a in hub.alerts.live() if a.kind == "unpaid_exit"]
    return Figures(
        date=date.today().isoformat(),
        command=opts.command,
        machine=_cpu_model(),
        cpus=os.cpu_count() or 0,
        load_avg=load_avg,
        python=platform.python_version(),
        plugins=plugin_names,
        background_offered_eps=round(offered),
        hub_cpu=round((cpu1 - cpu0) / (t1 - t0), 2),
        rejected=rejected,
        background_hub_eps=round((accepted1 - accepted0 - gate_events) / (t1 - t0)),
        walks_unpaid=len(unpaid),
        walks_paid=len(paid_walks),
        alarms=sum(1 for r in unpaid if r["e2e_ms"] is not None),
        missed=sum(1 for r in unpaid if r["e2e_ms"] is None),
        hub_alarms=len(svc.alarms),
        # Counted in the hub, exactly: at the gate a late alarm can fall into a paid walk.
        paid_alarms=sum(1 for rec in svc.alarms if set(rec.epcs) & paid_epcs)
        + sum(1 for a in alerts if set(a.data.get("epcs", ())) & paid_epcs),
        unpaid_exit_alerts=len(alerts),
        hub_ms=stats(hub_ms),
        alert_ms=stats(
            [
                (alerted[rec.passage] - rec.received) * 1000
                for rec in svc.alarms
                if rec.passage in alerted
            ]
        ),
        to_hub_ms=stats(
            [(received_at[r["epc"]] - r["sent"]) * 1000 for r in unpaid if r["epc"] in received_at]
        ),
        device_ms=stats([r["e2e_ms"] for r in unpaid if r["e2e_ms"] is not None]),
    )


def run_bench(opts: Options) -> Figures:
    with tempfile.TemporaryDirectory(prefix="storehub-rfid-") as tmp, mosquitto(Path(tmp)) as port:
        return asyncio.run(run(opts, Path(tmp), port))


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# -- CLI ----------------------------------------------------------------------------


def render(f: Figures) -> Table:
    table = Table(title="storehub — RFID leaving-tag alarm latency under load")
    for column in ("figure", "value", "note"):
        table.add_column(column)
    h, d = f.hub_ms, f.device_ms
    ok = "[green]meets it[/]" if h and h["p99"] < f.goal_ms else "[red]misses it[/]"

    def line(s: dict[str, float]) -> str:
        return (
            (
                f"p50 {s['p50']:.1f} · p95 {s['p95']:.1f} · p99 {s['p99']:.1f} · "
                f"max {s['max']:.1f} ms (n={s['n']:.0f})"
            )
            if s
            else "—"
        )

    for row in (
        (
            "in the hub",
            line(h),
            f"read event received → alarm PUBLISH; goal p99 < {f.goal_ms:g} ms: {ok}",
        ),
        ("alert, in the hub", line(f.alert_ms), "read event received → unpaid_exit PUBLISH"),
        ("at the device", line(d), "reads published → alarm command received"),
        ("… of which", line(f.to_hub_ms), "reads published → accepted by the hub's ingest"),
        (
            "background load",
            f"{f.background_hub_eps:,.0f} ev/s",
            f"accepted by the hub during the walks; offered {f.background_offered_eps:,.0f} ev/s;"
            f" the hub used {f.hub_cpu:.2f} CPU",
        ),
        (
            "unpaid walks",
            f"{f.alarms} alarmed / {f.walks_unpaid}",
            f"no alarm within 15 s: {f.missed}; the hub sent {f.hub_alarms} alarms and"
            f" {f.unpaid_exit_alerts} unpaid_exit alerts",
        ),
        ("paid walks", f"{f.paid_alarms} alarms / {f.walks_paid}", "must be 0 (hub side)"),
        (
            "machine",
            f"{f.cpus} CPUs",
            f"{f.machine}; load average {f.load_avg:g} before the run; Python {f.python};"
            f" plugins {f.plugins}",
        ),
    ):
        table.add_row(*row)
    return table


app = typer.Typer(add_completion=False)


@app.command()
def main(
    rate: Annotated[float, typer.Option(help="Background events/s offered.")] = 2500.0,
    publishers: Annotated[int, typer.Option(help="Background publisher processes.")] = 2,
    gates: Annotated[int, typer.Option(help="Exit gates walking tags.")] = 8,
    walks: Annotated[int, typer.Option(help="Walks per gate.")] = 60,
    plugins: Annotated[str, typer.Option(help="'all' built-in plugins, or 'gate' only.")] = "all",
    quick: Annotated[bool, typer.Option(help="Smoke run: 2 gates × 10 walks.")] = False,
) -> None:
    """Alarm latency of the leaving-tag rule with background load."""
    # Stopped from outside: unwind, so that the broker and the children are stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if quick:
        gates, walks = min(gates, 2), min(walks, 10)
    command = " ".join([".venv/bin/python -m bench.rfid", *sys.argv[1:]])
    figures = run_bench(
        Options(
            rate=rate,
            publishers=publishers,
            gates=gates,
            walks=walks,
            plugins=plugins,
            command=command,
        )
    )
    Console().print(render(figures))
    print(figures.model_dump_json())
    if figures.missed or figures.paid_alarms:
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
