"""Rules benchmark: events/s through N rules — storehub and Node-RED side by side.

    load generator ─QoS 1─▶ mosquitto ─┬─▶ storehub hub ─▶ N rules ─▶ alert ───────┐
    (paho, own process) ◀─ outputs ────┴─▶ Node-RED: mqtt in ─▶ function ─▶ mqtt out

Both sides get the same events from the same generator through the same
Mosquitto (a throwaway one on a free loopback port), and both evaluate every
one of the N rules on every event; exactly one rule matches each event and
sends one message out (storehub: a staff alert on ``store/s1/alert``; Node-RED:
``bench/out``).  The rate is events in ÷ (last output − first event).

What each side does per event is *not* the same, and the figures say so:
storehub validates the payload with the device kind's codec, drops QoS 1
redeliveries, writes the event to its SQLite journal before acknowledging it,
and a rule's alert is stored and journaled too; Node-RED's function node keeps
nothing.  ``core`` is storehub's pure evaluation core alone, in process, with
no MQTT and no disk: what the rules cost by themselves.

    .venv/bin/python -m bench.rules                       # N = 10, 100, 1000
    .venv/bin/python -m bench.rules --rules 10 --events 2000 --no-node-red
    .venv/bin/python -m bench.rules --install-node-red    # npm install into bench/.node

Node-RED is installed from the npm registry into ``bench/.node`` (ignored by
git); it is started with a generated ``flows.json`` and ``settings.js`` that
turn off its editor, update check and telemetry, so it talks to loopback only.
"""

from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing as mp
import os
import resource
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
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
from hub.broker import free_port

REPO = Path(__file__).resolve().parent.parent
NODE_DIR = REPO / "bench" / ".node"
NODE_RED = NODE_DIR / "node_modules" / "node-red" / "red.js"
STORE = "s1"
DEVICES = 10
ALERT_TOPIC = f"store/{STORE}/alert"
NODE_RED_OUT = "bench/out"
WARMUP = 50
_mp = mp.get_context("spawn")


class Rate(BaseModel):
    model_config = ConfigDict(frozen=True)

    system: str
    rules: int
    events: int
    received: int
    seconds: float
    #: CPU the system used for the events: steadier than the rate on a shared machine.
    cpu_seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0

    @property
    def cpu_us(self) -> float:
        """CPU microseconds per event."""
        return self.cpu_seconds / self.events * 1e6 if self.events else 0.0


# -- the workload: event j matches exactly rule j % N -----------------------------


def target(rule: int) -> tuple[str, int]:
    """The (device, celsius) that rule ``rule`` waits for: distinct for 1,810 rules."""
    return f"bench-{rule % DEVICES}", rule // DEVICES - 80


def rules_toml(n: int) -> str:
    out = []
    for i in range(n):
        device, celsius = target(i)
        out.append(f"""[[rules]]
name = "r{i}"
trigger = {{ type = "event", kind = "sensor", name = "temperature" }}
conditions = [{{ type = "expr", expr = "device == '{device}' and payload.celsius == {celsius}" }}]
mode = "parallel"
max = 10000
[[rules.actions]]
type = "alert"
kind = "bench"
severity = "info"
title = "r{i}: {{device}} at {{payload.celsius}} °C"
key = "bench:{{seq}}"
""")
    return "\n".join(out)


def store_toml() -> str:
    devices = "".join(
        f'\n[[devices]]\nid = "bench-{d}"\nkind = "sensor"\nzone = "z{d}"\nrole = "fridge"\n'
        for d in range(DEVICES)
    )
    return f'[store]\nid = "{STORE}"\ntimezone = "UTC"\n{devices}'


def function_js(n: int) -> str:
    """The Node-RED function node: the same N conditions, every one evaluated."""
    lines = [
        "const p = msg.payload;",
        'const device = msg.topic.split("/")[3];',
        "const out = [];",
    ]
    for i in range(n):
        device, celsius = target(i)
        lines.append(
            f'if (device === "{device}" && p.celsius === {celsius}) out.push({{topic: '
            f'"{NODE_RED_OUT}", payload: {{rule: "r{i}", device: device, celsius: p.celsius, '
            "seq: p.seq}});"
        )
    lines.append("return [out];")
    return "\n".join(lines)


#: mqtt in → function → mqtt out, all on the shared broker (Node-RED's own flow format).
FLOW = """[
  {"id": "tab", "type": "tab", "label": "bench"},
  {"id": "broker", "type": "mqtt-broker", "broker": "127.0.0.1", "port": "PORT",
   "clientid": "node-red-bench", "autoConnect": true, "usetls": false,
   "protocolVersion": "4", "keepalive": "60", "cleansession": true},
  {"id": "in", "type": "mqtt in", "z": "tab", "topic": "TOPIC", "qos": "1",
   "datatype": "json", "broker": "broker", "nl": false, "rap": true, "rh": 0, "inputs": 0,
   "wires": [["fn"]]},
  {"id": "fn", "type": "function", "z": "tab", "name": "NAME", "func": "", "outputs": 1,
   "wires": [["out"]]},
  {"id": "out", "type": "mqtt out", "z": "tab", "topic": "", "qos": "1", "retain": "false",
   "broker": "broker", "wires": []}
]"""


def flows_json(n: int, port: int) -> list[dict[str, Any]]:
    text = FLOW.replace("PORT", str(port)).replace("NAME", f"{n} rules")
    flow: list[dict[str, Any]] = json.loads(
        text.replace("TOPIC", f"store/{STORE}/device/+/event/temperature")
    )
    flow[3]["func"] = function_js(n)
    return flow


SETTINGS_JS = """module.exports = {
    uiHost: "127.0.0.1",
    uiPort: %d,
    httpAdminRoot: false,
    httpNodeRoot: false,
    flowFile: "flows.json",
    credentialSecret: false,
    diagnostics: { enabled: false },
    telemetry: { enabled: false },
    externalModules: { autoInstall: false, palette: { allowInstall: false } },
    logging: { console: { level: "warn", metrics: false, audit: false } },
};
"""


# -- the load generator (its own process) ------------------------------------------


def _loadgen(port: int, n: int, events: int, out_topic: str, conn: Connection) -> None:
    received = 0
    last = 0.0
    seen = threading.Condition()

    def on_message(client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        nonlocal received, last
        with seen:
            received += 1
            last = time.monotonic()
            seen.notify_all()

    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-out")
    sub.on_message = on_message
    sub.connect("127.0.0.1", port)
    sub.subscribe(out_topic, qos=1)
    sub.loop_start()
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-in")
    pub.max_inflight_messages_set(1000)
    pub.max_queued_messages_set(0)
    pub.connect("127.0.0.1", port)
    pub.loop_start()
    seq = int(time.time() * 1000)

    def send(j: int) -> None:
        nonlocal seq
        seq += 1
        device, celsius = target(j % n)
        body = {"ts": time.time(), "seq": seq, "celsius": celsius}
        pub.publish(
            f"store/{STORE}/device/{device}/event/temperature",
            json.dumps(body, separators=(",", ":")),
            qos=1,
        )

    def wait_for(count: int, timeout: float) -> bool:
        with seen:
            return seen.wait_for(lambda: received >= count, timeout)

    # Warm up until outputs come back (Node-RED connects to the broker in its own time).
    deadline = time.monotonic() + 60
    while received < WARMUP and time.monotonic() < deadline:
        for j in range(WARMUP):
            send(j)
        wait_for(WARMUP, 2.0)
    time.sleep(0.5)
    with seen:
        base = received
    conn.send({"phase": "start"})  # the parent samples the system's CPU time now
    started = time.monotonic()
    for j in range(events):
        send(j)
    complete = wait_for(base + events, 300)
    with seen:
        got, seconds = received - base, last - started
    pub.loop_stop()
    sub.loop_stop()
    conn.send({"received": got, "seconds": seconds if complete else time.monotonic() - started})


def drive(
    port: int, n: int, events: int, out_topic: str, cpu: Callable[[], float]
) -> tuple[int, float, float]:
    """Run the load generator in its own process: (outputs received, seconds, CPU seconds
    the system under test used meanwhile, read with ``cpu``)."""
    parent, child = _mp.Pipe()
    proc = _mp.Process(target=_loadgen, args=(port, n, events, out_topic, child), daemon=True)
    proc.start()
    try:
        if not parent.poll(120):
            raise RuntimeError("the load generator did not start")
        parent.recv()
        cpu_start = cpu()
        if not parent.poll(420):
            raise RuntimeError("the load generator did not finish")
        result = parent.recv()
        used = cpu() - cpu_start
    finally:
        proc.join(10)
        if proc.is_alive():
            proc.kill()
    return int(result["received"]), float(result["seconds"]), used


def own_cpu() -> float:
    """CPU seconds of this process, all its threads (the hub and its journal writer)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def process_cpu(pid: int) -> float:
    """CPU seconds of another process (Node-RED), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- the systems ---------------------------------------------------------------------


async def run_storehub(port: int, n: int, events: int, workdir: Path) -> Rate:
    """The storehub half: a hub with the rules plugin on the shared broker."""
    from hub.config import EnvSettings, load_config
    from hub.hub import Hub
    from rules.engine import plugin

    # aiomqtt warns past 10 publishes in flight; a burst of alerts is the point here.
    logging.getLogger("mqtt").setLevel(logging.ERROR)
    work = Path(tempfile.mkdtemp(prefix=f"storehub-{n}-", dir=workdir))
    (work / "store.toml").write_text(store_toml())
    (work / "rules").mkdir()
    (work / "rules" / "bench.toml").write_text(rules_toml(n))
    cfg = load_config(
        EnvSettings(
            config=work / "store.toml",
            data_dir=work / "data",
            broker_url=f"mqtt://127.0.0.1:{port}",
            api_port=0,
        )
    )
    async with Hub(cfg, plugins=[plugin]) as hub:
        await hub.wait_ready(30)
        for _ in range(600):  # the plugin loads the rules just after the hub is up
            if _rules_of(hub):
                break
            await asyncio.sleep(0.05)
        received, seconds, cpu = await asyncio.to_thread(
            drive, port, n, events, ALERT_TOPIC, own_cpu
        )
    return Rate(
        system="storehub",
        rules=n,
        events=events,
        received=received,
        seconds=seconds,
        cpu_seconds=cpu,
    )


def _rules_of(hub: Any) -> list[Any]:
    from rules.engine import RuleEngine

    engine = hub.service(RuleEngine)
    return engine.list() if engine is not None else []


def run_node_red(port: int, n: int, events: int, workdir: Path) -> Rate:
    """The Node-RED half: mqtt in → function (N conditions) → mqtt out."""
    user = Path(tempfile.mkdtemp(prefix=f"node-red-{n}-", dir=workdir))
    (user / "flows.json").write_text(json.dumps(flows_json(n, port)))
    (user / "settings.js").write_text(SETTINGS_JS % free_port())
    proc = subprocess.Popen(
        ["node", str(NODE_RED), "--userDir", str(user), "--settings", str(user / "settings.js")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=user,
    )
    try:
        received, seconds, cpu = drive(port, n, events, NODE_RED_OUT, lambda: process_cpu(proc.pid))
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
    return Rate(
        system="node-red",
        rules=n,
        events=events,
        received=received,
        seconds=seconds,
        cpu_seconds=cpu,
    )


def run_core(n: int, events: int, *, linear: bool = False) -> Rate:
    """storehub's evaluation core alone: bus events → firings, in process.  ``linear``
    turns off its index of ``name == literal`` conditions: every rule is evaluated on
    every event, as in the Node-RED function."""
    from devices.sensor.codec import Temperature
    from hub.events import DeviceEvent
    from rules.core import Evaluator
    from rules.model import LoadedRule, parse_rules
    from rules.scope import DeviceInfo, MemoryStore
    from rules.triggers import occurrence_of

    found, errors = parse_rules(rules_toml(n), Path("bench.toml"))
    assert not errors, errors
    store = MemoryStore().add(
        *(DeviceInfo(f"bench-{d}", "sensor", f"z{d}", "fridge") for d in range(DEVICES))
    )
    core = Evaluator(store, store_id=STORE, index_values=not linear)
    core.load([LoadedRule(r, Path("bench.toml")) for r in found])
    batch = []
    for j in range(events):
        device, celsius = target(j % n)
        batch.append(
            DeviceEvent(
                device=device,
                kind="sensor",
                zone=None,
                name="temperature",
                seq=j,
                ts=0.0,
                received=0.0,
                payload=Temperature(ts=0.0, seq=j, celsius=celsius),
            )
        )
    fired = 0
    started, cpu = time.perf_counter(), time.process_time()
    for event in batch:
        occ = occurrence_of(event, store)
        assert occ is not None
        fired += len(core.handle(occ))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    system = "core-linear" if linear else "core"
    return Rate(
        system=system, rules=n, events=events, received=fired, seconds=seconds, cpu_seconds=cpu
    )


# -- the command ---------------------------------------------------------------------


def install_node_red() -> None:
    NODE_DIR.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(NODE_DIR), "node-red@4"],
        check=True,
    )


def default_events(n: int) -> int:
    return {10: 5000, 100: 5000}.get(n, 2000)


def main(
    rules: Annotated[list[int] | None, typer.Option("--rules", help="Rule counts")] = None,
    events: Annotated[int | None, typer.Option(help="Events per run (default by N)")] = None,
    node_red: Annotated[bool, typer.Option(help="Also run Node-RED")] = True,
    install: Annotated[bool, typer.Option("--install-node-red", help="npm install it")] = False,
    as_json: Annotated[Path | None, typer.Option("--json", help="Write figures here")] = None,
) -> None:
    console = Console()
    counts = rules or [10, 100, 1000]
    if install:
        install_node_red()
    if node_red and not NODE_RED.exists():
        console.print(
            f"[yellow]Node-RED is not in {NODE_DIR}: run with --install-node-red "
            "(or --no-node-red)[/]"
        )
        raise typer.Exit(2)
    results: list[Rate] = []
    with tempfile.TemporaryDirectory(prefix="bench-rules-") as tmp, mosquitto(Path(tmp)) as port:
        for n in counts:
            m = events or default_events(n)
            first = len(results)
            results.append(run_core(n, m))
            results.append(run_core(n, m, linear=True))
            results.append(asyncio.run(run_storehub(port, n, m, Path(tmp))))
            if node_red:
                results.append(run_node_red(port, n, m, Path(tmp)))
            for r in results[first:]:
                console.print(
                    f"  N={n:<5} {r.system:<11} {r.rate:>10,.0f} events/s "
                    f"{r.cpu_us:>8,.0f} µs CPU/event ({r.received}/{r.events} out)"
                )
    console.print(render(results, counts))
    figures = [{**r.model_dump(), "rate": r.rate, "cpu_us": r.cpu_us} for r in results]
    if as_json is not None:
        as_json.write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures))  # one line for scripts, as the other benches end


COLUMNS = [
    "rules",
    "core ev/s",
    "core, no index",
    "storehub ev/s",
    "Node-RED ev/s",
    "storehub ÷ Node-RED",
    "CPU µs/event storehub",
    "CPU µs/event Node-RED",
    "CPU ratio",
]


def render(results: list[Rate], counts: list[int]) -> Table:
    table = Table(
        *COLUMNS,
        title=f"Rules: events/s through N rules (load average {os.getloadavg()[0]:.1f}, "
        f"{os.cpu_count()} CPUs)",
    )
    by = {(r.system, r.rules): r for r in results}
    for n in counts:
        core, linear = by.get(("core", n)), by.get(("core-linear", n))
        hub, red = by.get(("storehub", n)), by.get(("node-red", n))
        ratio = f"{hub.rate / red.rate:.2f}" if hub and red and red.rate else "—"
        cpu_ratio = f"{hub.cpu_us / red.cpu_us:.2f}" if hub and red and red.cpu_us else "—"
        table.add_row(
            str(n),
            *(f"{r.rate:,.0f}" if r else "—" for r in (core, linear, hub, red)),
            ratio,
            *(f"{r.cpu_us:,.0f}" if r else "—" for r in (hub, red)),
            cpu_ratio,
        )
    return table


if __name__ == "__main__":
    typer.run(main)
