"""The rules engine in a real hub against a real Mosquitto: plain-paho devices that know
only the contract, staff listening on ``store/s1/alert``, the shipped rule files plus
test rules with short durations."""

from __future__ import annotations

import asyncio
import json
import shutil
import threading
import time
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import generate_latest

from devices.sensor.config import SensorConfig
from hub.config import EnvSettings, load_config
from hub.db import connect_reader
from hub.hub import Hub
from hub.inventory import Inventory
from hub.state import StateFlags
from rules.engine import RuleEngine, plugin
from simulators.base import SimEndpoint
from simulators.sensor import SensorSimulator
from tests.conftest import REPO, Mosquitto, eventually
from tests.paho_device import PahoDevice

pytestmark = pytest.mark.integration

STORE = """
[store]
id = "s1"
timezone = "Asia/Shanghai"

[[devices]]
id = "kiosk-1"
kind = "kiosk"
zone = "checkout"

[[devices]]
id = "fridge-1"
kind = "sensor"
zone = "dairy"
role = "fridge"

[[devices]]
id = "door-in"
kind = "door"
zone = "entrance"

[[devices]]
id = "door-out"
kind = "door"
zone = "exit"
"""

# The shipped cold-chain rules wait 10 minutes; the test's wait one second.
FAST_COLD_CHAIN = """
[[rules]]
name = "fridge_too_warm"
trigger = { type = "event", kind = "sensor", name = "temperature" }
conditions = [{ type = "expr", expr = "role == 'fridge' and payload.celsius > 8" }]
for = "1s"
[[rules.actions]]
type = "alert"
kind = "temperature_excursion"
severity = "critical"
title = "Fridge {device} at {payload.celsius:.1f} °C"
data = { celsius = "{payload.celsius}" }

[[rules]]
name = "temperature_back_in_range"
trigger = { type = "event", kind = "sensor", name = "temperature" }
conditions = [{ type = "expr", expr = "role == 'fridge' and payload.celsius <= 8" }]
actions = [{ type = "resolve", kind = "temperature_excursion", notify = "{device} back in range" }]
"""


class Receiver:
    """A tiny webhook endpoint on 127.0.0.1 that records what it is sent."""

    def __init__(self) -> None:
        self.bodies: list[Any] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                outer.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def store_dir(tmp_path: Path, receiver: Receiver) -> Path:
    (tmp_path / "store.toml").write_text(STORE)
    rules = tmp_path / "rules"
    rules.mkdir()
    for f in (REPO / "configs" / "rules").glob("*.toml"):
        if f.name != "cold_chain.toml":
            shutil.copy(f, rules / f.name)
    (rules / "cold_chain.toml").write_text(FAST_COLD_CHAIN)
    (rules / "webhooks.toml").write_text(f"""
[[rules]]
name = "help_to_hq"
trigger = {{ type = "event", kind = "kiosk", name = "help" }}
mode = "parallel"
actions = [{{ type = "webhook", url = "{receiver.url}", body = {{ kiosk = "{{device}}", n = 1 }} }}]
""")
    return tmp_path


@pytest.fixture
async def hub(store_dir: Path, mosquitto: Mosquitto) -> AsyncIterator[Hub]:
    cfg = load_config(
        EnvSettings(
            config=store_dir / "store.toml",
            data_dir=store_dir / "data",
            broker_url=mosquitto.url,
            api_port=0,
        )
    )
    async with Hub(cfg, plugins=[plugin]) as h:
        await h.wait_ready(10)
        await eventually(lambda: h.service(RuleEngine) is not None and engine(h).list())
        yield h


def engine(hub: Hub) -> RuleEngine:
    found = hub.service(RuleEngine)
    assert found is not None
    return found


def alerts(staff: PahoDevice, kind: str) -> list[dict[str, Any]]:
    return [b for t, b in staff.messages if isinstance(b, dict) and b.get("kind") == kind]


async def test_kiosk_help_pages_staff_and_calls_the_webhook(
    hub: Hub, mosquitto: Mosquitto, receiver: Receiver
) -> None:
    staff = PahoDevice("s1", "staff", "x", mosquitto.port).start("store/s1/alert")
    kiosk = PahoDevice("s1", "kiosk-1", "kiosk", mosquitto.port).start()
    kiosk.birth()
    kiosk.event("help")
    await eventually(lambda: alerts(staff, "help_request"))
    [alert] = alerts(staff, "help_request")
    assert alert["device"] == "kiosk-1" and alert["zone"] == "checkout"
    assert alert["severity"] == "warning" and alert["title"] == "Help requested at kiosk-1"
    assert alert["data"]["rule"] == "kiosk_help"
    await eventually(lambda: receiver.bodies)
    assert receiver.bodies == [{"kiosk": "kiosk-1", "n": 1}]
    info = {r.name: r for r in engine(hub).list()}
    assert info["kiosk_help"].stats.fires == 1 and info["help_to_hq"].stats.errors == 0
    metrics = generate_latest(hub.metrics.registry).decode()
    assert 'storehub_rule_fires_total{rule="kiosk_help"} 1.0' in metrics
    assert 'storehub_rule_evaluations_total{rule="kiosk_help"} 1.0' in metrics
    kiosk.stop()
    staff.stop()


async def test_fridge_excursion_fires_after_the_for_duration(
    hub: Hub, mosquitto: Mosquitto
) -> None:
    staff = PahoDevice("s1", "staff", "x", mosquitto.port).start("store/s1/alert")
    cfg = hub.config.store.device("fridge-1")
    assert isinstance(cfg, SensorConfig)
    sim = SensorSimulator(cfg, "s1", SimEndpoint("127.0.0.1", mosquitto.port), seed=1)
    async with sim:
        await sim.temperature(9.5)
        started = time.monotonic()
        await asyncio.sleep(0.6)
        assert alerts(staff, "temperature_excursion") == []  # not before the second is up
        await sim.temperature(9.75)
        await eventually(lambda: alerts(staff, "temperature_excursion"), timeout=5)
        assert time.monotonic() - started >= 1.0
        [alert] = alerts(staff, "temperature_excursion")
        assert alert["severity"] == "critical" and alert["device"] == "fridge-1"
        assert alert["title"] == "Fridge fridge-1 at 9.8 °C" and alert["data"]["celsius"] == 9.75
        await sim.temperature(4.0)
        await eventually(lambda: alerts(staff, "temperature_excursion_cleared"))
        assert hub.alerts.find("temperature_excursion:fridge-1:dairy") is None
    staff.stop()


async def test_emergency_flag_releases_every_door(hub: Hub, mosquitto: Mosquitto) -> None:
    staff = PahoDevice("s1", "staff", "x", mosquitto.port).start("store/s1/alert")
    doors = [PahoDevice("s1", d, "door", mosquitto.port).start() for d in ("door-in", "door-out")]
    flags = hub.service(StateFlags)
    assert flags is not None
    await flags.set("emergency", True, by="anna")
    await eventually(lambda: all(d.commands for d in doors))
    for door in doors:
        [cmd] = door.commands
        assert cmd["name"] == "release" and cmd["reason"] == "emergency (set by anna)"
    await eventually(lambda: alerts(staff, "emergency"))
    await flags.set("emergency", False, by="anna")
    await eventually(lambda: all(len(d.commands) == 2 for d in doors))
    assert [d.commands[1]["name"] for d in doors] == ["lock", "lock"]
    await eventually(lambda: hub.alerts.find("emergency::") is None)
    for door in doors:
        door.stop()
    staff.stop()


async def test_low_stock_alert_from_the_inventory(hub: Hub) -> None:
    inventory = hub.service(Inventory)
    assert inventory is not None
    await inventory.set_level("milk-1l", "dairy", 12)
    await inventory.set_safe("milk-1l", "dairy", 5)
    assert hub.alerts.find("low_stock:milk-1l:dairy") is None
    await inventory.adjust("milk-1l", "dairy", -8, reason="sale")
    await eventually(lambda: hub.alerts.find("low_stock:milk-1l:dairy"))
    alert = hub.alerts.find("low_stock:milk-1l:dairy")
    assert (
        alert is not None and alert.title == "Low stock: milk-1l in dairy — 4 left (safe stock 5)"
    )
    await inventory.adjust("milk-1l", "dairy", 24, reason="delivery")
    await eventually(lambda: hub.alerts.find("low_stock:milk-1l:dairy") is None)


async def test_reload_under_load_loses_no_event(
    hub: Hub, mosquitto: Mosquitto, store_dir: Path
) -> None:
    rules_dir = store_dir / "rules"
    probe = """
[[rules]]
name = "probe"
description = "{v}"
trigger = {{ type = "event", kind = "sensor", name = "queue" }}
conditions = [{{ type = "expr", expr = "payload.count < 0" }}]
actions = [{{ type = "alert", kind = "never", title = "never" }}]
"""
    (rules_dir / "probe.toml").write_text(probe.format(v=0))
    eng = engine(hub)
    assert (await eng.reload()).ok
    sensor = PahoDevice("s1", "fridge-1", "sensor", mosquitto.port).start()
    total = 3000

    def flood() -> None:
        for i in range(total):
            sensor.seq += 1
            body = {"ts": time.time(), "seq": sensor.seq, "count": i % 3}
            sensor.client.publish("store/s1/device/fridge-1/event/queue", json.dumps(body), qos=1)

    def evaluations() -> int:
        return {r.name: r.stats.evaluations for r in eng.list()}["probe"]

    sender = asyncio.get_running_loop().run_in_executor(None, flood)
    reloads = midway = 0
    deadline = time.monotonic() + 30
    while evaluations() < total and time.monotonic() < deadline:
        (rules_dir / "probe.toml").write_text(probe.format(v=reloads + 1))
        result = await eng.reload()
        assert result.ok, result.errors
        reloads += 1
        midway += 0 < evaluations() < total
        await asyncio.sleep(0.005)
    await sender
    await eventually(lambda: evaluations() == total, timeout=30)
    assert midway >= 3  # the rule set was swapped while events were being processed
    assert {r.name: r.description for r in eng.list()}["probe"] == str(reloads)
    await asyncio.sleep(0.2)
    assert evaluations() == total  # and none twice
    sensor.stop()


async def test_file_change_is_picked_up_and_a_bad_file_keeps_the_old_rules(
    hub: Hub, store_dir: Path
) -> None:
    eng = engine(hub)
    before = {r.name for r in eng.list()}
    (store_dir / "rules" / "extra.toml").write_text("""
[[rules]]
name = "door_opened"
trigger = { type = "event", kind = "door", name = "door" }
actions = [{ type = "alert", kind = "door_open", severity = "info", title = "{device} opened" }]
""")
    await eventually(lambda: "door_opened" in {r.name for r in eng.list()}, timeout=5)
    (store_dir / "rules" / "extra.toml").write_text("""
[[rules]]
name = "door_opened"
trigger = { type = "event", kind = "door", nam = "door" }
actions = []
""")
    result = await eng.reload()
    assert not result.ok and result.rules == len(before) + 1
    assert any("extra.toml: rule 'door_opened': trigger.nam:" in e for e in result.errors)
    assert any("extra.toml: rule 'door_opened': actions:" in e for e in result.errors)
    assert {r.name for r in eng.list()} == before | {"door_opened"}


async def test_disable_a_rule_is_kept_in_the_database(hub: Hub, mosquitto: Mosquitto) -> None:
    eng = engine(hub)
    eng.set_enabled("kiosk_help", False)
    with pytest.raises(KeyError):
        eng.set_enabled("no_such_rule", False)
    kiosk = PahoDevice("s1", "kiosk-1", "kiosk", mosquitto.port).start()
    kiosk.event("help")
    await eventually(lambda: {r.name: r for r in eng.list()}["help_to_hq"].stats.fires == 1)
    assert {r.name: r for r in eng.list()}["kiosk_help"].stats.evaluations == 0
    assert hub.alerts.find("help_request:kiosk-1:checkout") is None
    await hub.journal.flush()
    conn = connect_reader(hub.db_path)
    row = conn.execute("SELECT enabled FROM rule_overrides WHERE name='kiosk_help'").fetchone()
    conn.close()
    assert row is not None and row[0] == 0
    kiosk.stop()


async def test_schedule_fires_from_the_engine_timer_loop(hub: Hub, store_dir: Path) -> None:
    (store_dir / "rules" / "tick.toml").write_text("""
[[rules]]
name = "tick"
trigger = { type = "schedule", every = "1s" }
mode = "queued"
actions = [{ type = "flag", name = "ticked", value = "{now}" }]
""")
    eng = engine(hub)
    assert (await eng.reload()).ok
    flags = hub.service(StateFlags)
    assert flags is not None
    await eventually(lambda: isinstance(flags.get("ticked"), float), timeout=5)
    first = flags.get("ticked")
    await eventually(lambda: flags.get("ticked") != first, timeout=5)
    assert {r.name: r for r in eng.list()}["tick"].stats.fires >= 2
    assert eng.fire("tick", {"now": 1.0}) is True  # the API's "run now"
    with pytest.raises(KeyError):
        eng.fire("nope")
