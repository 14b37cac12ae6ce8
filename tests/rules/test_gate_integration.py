"""The leaving-tag rule end to end: real Mosquitto, the hub, plain-paho devices."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from devices.rfid_gate.zebra import ZebraRead, encode_zebra
from hub.config import EnvSettings, load_config
from hub.db import connect_reader
from hub.hub import Hub
from rules import gate
from tests.conftest import DEMO, Mosquitto, eventually
from tests.paho_device import PahoDevice

pytestmark = pytest.mark.integration

EPC = "3074257BF7194E4000001A85"  # GTIN 80614141123458, serial 6789: "Merino wool scarf"
PAID = "3074257BF7194E4000001A86"
ZEBRA_TOPIC = "zebra/fx9600/data"


@pytest.fixture
async def hub(tmp_path: Path, mosquitto: Mosquitto) -> AsyncIterator[Hub]:
    cfg = load_config(
        EnvSettings(config=DEMO, data_dir=tmp_path / "data", broker_url=mosquitto.url, api_port=0)
    )
    async with Hub(cfg, plugins=[gate.plugin]) as h:
        await h.wait_ready(10)
        await asyncio.wait_for(gate.service(h).ready.wait(), 5)
        yield h


def alerts_of(staff: PahoDevice, kind: str) -> list[dict[str, Any]]:
    return [
        b
        for t, b in staff.messages
        if t == "store/s1/alert" and isinstance(b, dict) and b["kind"] == kind
    ]


def walk_out(device: PahoDevice, epc: str) -> None:
    """What a contract-following gate reports as a tag is carried out."""
    now = time.time()
    device.event(
        "reads",
        reads=[
            {"epc": epc, "antenna": 1, "rssi": -52.0, "ts": now},
            {"epc": epc, "antenna": 1, "rssi": -48.5, "ts": now + 0.05},
        ],
    )
    device.event("reads", reads=[{"epc": epc, "antenna": 2, "rssi": -47.0, "ts": now + 0.3}])


async def test_an_unpaid_tag_walking_out_alarms_the_gate_and_alerts_staff(
    hub: Hub, mosquitto: Mosquitto
) -> None:
    staff = PahoDevice("s1", "staff", "x", mosquitto.port).start("store/s1/alert")
    device = PahoDevice("s1", "gate-out", "rfid_gate", mosquitto.port).start()
    device.birth()
    walk_out(device, EPC)
    await eventually(lambda: device.commands and alerts_of(staff, "unpaid_exit"))
    [alarm] = device.commands
    assert alarm["name"] == "alarm" and alarm["pattern"] == "theft" and alarm["seconds"] == 5
    assert alarm["expires"] > alarm["ts"]
    [alert] = alerts_of(staff, "unpaid_exit")
    assert set(alert) == {"id", "ts", "severity", "kind", "title", "device", "zone", "data"}
    assert (alert["severity"], alert["device"], alert["zone"]) == ("critical", "gate-out", "exit")
    data = alert["data"]
    assert (data["epc"], data["gtin"], data["serial"], data["name"]) == (
        EPC,
        "80614141123458",
        "6789",
        "Merino wool scarf",
    )
    # The device's reply closes the command.
    await eventually(
        lambda: any(r["name"] == "alarm" and r["outcome"] == "ok" for r in journal(hub, "command"))
    )
    device.stop()
    staff.stop()


async def test_a_paid_tag_walks_out_silently(hub: Hub, mosquitto: Mosquitto) -> None:
    staff = PahoDevice("s1", "staff", "x", mosquitto.port).start("store/s1/alert")
    device = PahoDevice("s1", "gate-out", "rfid_gate", mosquitto.port).start()
    await gate.service(hub).paid.mark_paid([PAID], "sale-42")
    walk_out(device, PAID)
    # The gate saw it leave (a derived event) ...
    await eventually(lambda: any(r["name"] == "leaving" for r in journal(hub, "event")), timeout=5)
    await asyncio.sleep(0.2)
    # ... and nobody was told.
    assert device.commands == [] and alerts_of(staff, "unpaid_exit") == []
    leaving = next(r for r in journal(hub, "event") if r["name"] == "leaving")
    assert leaving["data"]["tags"][0]["paid"] is True
    device.stop()
    staff.stop()


def journal(hub: Hub, type_: str) -> list[dict[str, Any]]:
    db = connect_reader(hub.db_path)
    try:
        return [
            {
                "name": r["name"],
                "outcome": json.loads(r["data"]).get("outcome"),
                "data": json.loads(r["data"]),
            }
            for r in db.execute(
                "SELECT name, data FROM journal WHERE type = ? ORDER BY id", (type_,)
            )
        ]
    finally:
        db.close()


@pytest.fixture
async def zebra_hub(tmp_path: Path, mosquitto: Mosquitto) -> AsyncIterator[Hub]:
    store = tmp_path / "zebra.toml"
    store.write_text(
        '[store]\nid = "s1"\n\n[[devices]]\nid = "gate-z"\nkind = "rfid_gate"\n'
        'zone = "exit"\ninside_antennas = [1]\noutside_antennas = [2]\nexit = true\n'
        f'format = "zebra"\ndata_topic = "{ZEBRA_TOPIC}"\n'
    )
    shutil.copy(DEMO.parent / "catalog.toml", tmp_path / "catalog.toml")
    cfg = load_config(
        EnvSettings(config=store, data_dir=tmp_path / "data", broker_url=mosquitto.url, api_port=0)
    )
    async with Hub(cfg, plugins=[gate.plugin]) as h:
        await h.wait_ready(10)
        await asyncio.wait_for(gate.service(h).ready.wait(), 5)
        yield h


async def test_a_zebra_reader_feeds_the_same_rule(zebra_hub: Hub, mosquitto: Mosquitto) -> None:
    staff = PahoDevice("s1", "staff", "x", mosquitto.port).start("store/s1/alert")
    # The alarm goes to the gate's contract command topic (a controller next to the reader).
    siren = PahoDevice("s1", "gate-z", "rfid_gate", mosquitto.port).start()
    reader = PahoDevice("s1", "fx9600", "x", mosquitto.port).start(ZEBRA_TOPIC + "/ignored")
    now = time.time()
    batch = [
        ZebraRead(epc=EPC, antenna=a, rssi=r, ts=now + dt, event_type="PORTAL")
        for a, r, dt in ((1, -52.0, 0.0), (1, -49.0, 0.1), (2, -50.0, 0.4))
    ]
    reader.publish(ZEBRA_TOPIC, encode_zebra(batch, batch=True))
    await eventually(lambda: siren.commands and alerts_of(staff, "unpaid_exit"))
    assert siren.commands[0]["name"] == "alarm" and siren.commands[0]["pattern"] == "theft"
    [alert] = alerts_of(staff, "unpaid_exit")
    assert alert["device"] == "gate-z" and alert["data"]["serial"] == "6789"
    assert alert["data"]["name"] == "Merino wool scarf"
    # Single (unbatched) events work too: a second tag, one event per read.
    other = "3074257BF7194E4000001A87"
    for a, dt in ((1, 0.0), (2, 0.3)):
        read = ZebraRead(epc=other, antenna=a, rssi=-50.0, ts=time.time() + dt, event_type="SIMPLE")
        reader.publish(ZEBRA_TOPIC, encode_zebra([read], batch=False))
    await eventually(lambda: other in alerts_of(staff, "unpaid_exit")[-1]["data"]["epcs"])
    for d in (staff, siren, reader):
        d.stop()


async def test_malformed_zebra_payloads_are_dead_lettered(
    zebra_hub: Hub, mosquitto: Mosquitto
) -> None:
    reader = PahoDevice("s1", "fx9600", "x", mosquitto.port).start(ZEBRA_TOPIC + "/ignored")
    bad = [
        (b"<xml/>", "not_json"),
        (b'"just a string"', "not_object"),
        (
            b'[{"data": {"idHex": "3074257bf7194e4000001a85", "antenna": 1},'
            b' "timestamp": "2019-04-16T11:51:29.364+0000", "type": "SIMPLE"}]',
            "invalid",
        ),
        (
            b'{"data": {"idHex": "zz", "antenna": 1, "peakRssi": -50},'
            b' "timestamp": "2019-04-16T11:51:29.364+0000", "type": "SIMPLE"}',
            "invalid",
        ),
    ]
    for payload, _ in bad:
        reader.publish(ZEBRA_TOPIC, payload)

    def rows() -> list[tuple[str, str | None, str]]:
        db = connect_reader(zebra_hub.db_path)
        try:
            return [
                (r["reason"], r["device"], r["topic"])
                for r in db.execute("SELECT reason, device, topic FROM deadletter")
            ]
        finally:
            db.close()

    await eventually(lambda: len(rows()) == len(bad))
    assert sorted(r[0] for r in rows()) == sorted(reason for _, reason in bad)
    assert {(r[1], r[2]) for r in rows()} == {("gate-z", ZEBRA_TOPIC)}
    assert len(gate.service(zebra_hub).alarms) == 0
    reader.stop()
