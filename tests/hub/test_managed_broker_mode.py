"""The hub with its own Mosquitto: per-device credentials and ACLs derived from the registry."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from hub.broker import free_port
from hub.config import EnvSettings, load_config
from hub.db import connect_reader
from hub.hub import Hub
from hub.secrets import load_secrets
from tests.conftest import DEMO, eventually
from tests.paho_device import PahoDevice

pytestmark = pytest.mark.integration


@pytest.fixture
async def managed(tmp_path: Path) -> AsyncIterator[Hub]:
    config = tmp_path / "store.toml"
    config.write_text(DEMO.read_text().replace("port = 1883", f"port = {free_port()}"))
    cfg = load_config(EnvSettings(config=config, data_dir=tmp_path / "data", api_port=0))
    async with Hub(cfg, plugins=[]) as hub:
        await hub.wait_ready(15)
        yield hub


def device(hub: Hub, dev: str, kind: str) -> PahoDevice:
    assert hub.broker is not None
    creds = load_secrets(hub.config.data_dir, hub.config.store.devices)[dev]
    port = urlsplit(hub.broker.url).port
    assert port is not None
    return PahoDevice("s1", dev, kind, port, username=creds.username, password=creds.password)


def events_of(hub: Hub, dev: str) -> int:
    conn = connect_reader(hub.db_path)
    try:
        return int(
            conn.execute(
                "SELECT COUNT(*) FROM journal WHERE type='event' AND device=?", (dev,)
            ).fetchone()[0]
        )
    finally:
        conn.close()


async def test_devices_use_their_own_credentials(managed: Hub) -> None:
    door = device(managed, "door-in", "door").start()
    door.birth()
    door.event("passage", direction="in")
    await eventually(lambda: events_of(managed, "door-in") == 1)
    door.stop()

    assert managed.broker is not None
    port = urlsplit(managed.broker.url).port
    assert port is not None
    intruder = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="door-in")
    intruder.username_pw_set("door-in", "wrong-password")
    assert intruder.connect("127.0.0.1", port) == 0
    rc = intruder.loop(timeout=2.0)
    intruder.loop(timeout=0.5)
    assert not intruder.is_connected(), rc


async def test_a_kiosk_cannot_publish_a_doors_events_or_command_a_door(managed: Hub) -> None:
    kiosk = device(managed, "kiosk-1", "kiosk").start()
    door = device(managed, "door-in", "door").start()
    # The kiosk tries to be the door and to eavesdrop on/command it.
    kiosk.client.subscribe("store/s1/device/door-in/command/#", qos=1)
    kiosk.publish(
        "store/s1/device/door-in/event/passage", {"ts": 1.0, "seq": 99, "direction": "in"}
    )
    kiosk.publish(
        "store/s1/device/door-in/command/open",
        {"id": "evil", "ts": 1.0, "expires": 9e9, "seconds": 60},
    )
    kiosk.event("help")  # its own events still flow
    await eventually(lambda: events_of(managed, "kiosk-1") == 1)
    outcome = await managed.command("door-in", "open", seconds=2)
    assert outcome.outcome == "ok"
    await eventually(lambda: door.commands)
    assert [c["id"] for c in door.commands] == [outcome.id]  # never the kiosk's "evil" one
    assert events_of(managed, "door-in") == 0
    assert not any("/door-in/" in topic for topic, _ in kiosk.messages)
    kiosk.stop()
    door.stop()


async def test_broker_is_restarted_if_it_dies(managed: Hub) -> None:
    import os
    import signal

    assert managed.broker is not None and managed.broker.pid is not None
    os.kill(managed.broker.pid, signal.SIGKILL)
    await eventually(lambda: managed.broker is not None and managed.broker.restarts == 1, 15)
    await eventually(
        lambda: managed.transport is not None and managed.transport.connected.is_set(), 15
    )
    door = device(managed, "door-out", "door").start()
    door.event("passage", direction="out")
    await eventually(lambda: events_of(managed, "door-out") == 1, 15)
    door.stop()
