"""Devices HQ provisions through cloud sync, end to end: the reference cloud publishes a
device, the hub's inbox applies it, the managed broker lets it in with its generated
password, its events are journaled, it survives a restart, and HQ's delete removes it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from typer.testing import CliRunner

from hub.broker import free_port
from hub.cli import app as cli
from hub.config import EnvSettings, HubConfig, load_config
from hub.hub import Hub
from hub.sync import Sync
from hub.sync import plugin as sync_plugin
from simulators.cloud import CloudServer, PublishChange
from tests.conftest import DEMO, eventually
from tests.hub.sync.conftest import fast_config, sql
from tests.paho_device import PahoDevice

pytestmark = pytest.mark.integration

TOKEN = "t"
FRIDGE = {
    "kind": "sensor",
    "zone": "dairy",
    "name": "Back-room fridge",
    "config": {"role": "fridge", "interval_s": 60},
}


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[CloudServer]:
    with CloudServer(tmp_path / "cloud" / "cloud.db", tokens={"s1": TOKEN}) as server:
        yield server


@pytest.fixture
def config(tmp_path: Path, cloud: CloudServer, monkeypatch: pytest.MonkeyPatch) -> HubConfig:
    monkeypatch.setenv("STOREHUB_SYNC_TOKEN", TOKEN)
    store = tmp_path / "store.toml"
    store.write_text(DEMO.read_text().replace("port = 1883", f"port = {free_port()}"))
    cfg = load_config(EnvSettings(config=store, data_dir=tmp_path / "data", api_port=0))
    sync = fast_config(cloud.url)
    return cfg.model_copy(update={"store": cfg.store.model_copy(update={"sync": sync})})


def port_of(hub: Hub) -> int:
    assert hub.broker is not None
    port = urlsplit(hub.broker.url).port
    assert port is not None
    return port


def connects(port: int, user: str, password: str) -> bool:
    """Whether the broker accepts this login (a CONNACK with success)."""
    answered = threading.Event()
    result: list[bool] = []

    def on_connect(_c: Any, _u: Any, _f: Any, reason: Any, _p: Any = None) -> None:
        result.append(not reason.is_failure)
        answered.set()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"probe-{user}")
    client.username_pw_set(user, password)
    client.on_connect = on_connect
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        answered.wait(5)
    finally:
        client.disconnect()
        client.loop_stop()
    return bool(result) and result[0]


def events_of(hub: Hub, device: str) -> int:
    rows = sql(hub.db_path, "SELECT COUNT(*) FROM journal WHERE type='event' AND device=?", device)
    return int(rows[0][0])


def installer_view(cfg: HubConfig) -> dict[str, dict[str, Any]]:
    """What ``storehub devices --secrets --json`` shows the installer."""
    args = ["devices", "--config", str(cfg.source), "--data-dir", str(cfg.data_dir)]
    result = CliRunner().invoke(cli, [*args, "--secrets", "--json"])
    assert result.exit_code == 0, result.output
    return {row["id"]: row for row in json.loads(result.output)}


async def test_hq_provisions_a_device_that_survives_a_restart_until_hq_removes_it(
    config: HubConfig, cloud: CloudServer
) -> None:
    async with Hub(config, plugins=[sync_plugin]) as hub:
        await hub.wait_ready(15)
        await eventually(lambda: hub.service(Sync) is not None)
        sync = hub.service(Sync)
        assert sync is not None
        cloud.store.publish(
            [
                PublishChange(type="device", key="fridge-9", data=FRIDGE),
                PublishChange(type="device", key="door-in", data={"kind": "door"}),
                PublishChange(
                    type="device",
                    key="fridge-8",
                    data={"kind": "sensor", "config": {"role": "oven"}},
                ),
            ]
        )
        await eventually(lambda: sync.status().inbox_cursor == 3, timeout=10)
        device = hub.registry.get("fridge-9")
        assert device is not None and device.zone == "dairy" and device.kind == "sensor"
        assert hub.registry.get("fridge-8") is None
        reasons = {r[0]: r[1] for r in sql(hub.db_path, "SELECT key, reason FROM sync_quarantine")}
        assert "store file" in reasons["door-in"] and reasons["fridge-8"].startswith("config.role")
        view = installer_view(config)
        assert view["fridge-9"]["source"] == "cloud" and view["door-in"]["source"] == "config"
        password = view["fridge-9"]["password"]
        assert password
        port = port_of(hub)
        await eventually(lambda: connects(port, "fridge-9", password))
        assert not connects(port, "fridge-9", "wrong")
        fridge = PahoDevice(
            "s1", "fridge-9", "sensor", port, username="fridge-9", password=password
        )
        fridge.start().birth()
        fridge.event("temperature", celsius=3.5)
        await eventually(lambda: events_of(hub, "fridge-9") == 1)
        await eventually(lambda: device.online is True)
        outcome = await hub.command("fridge-9", "identify", seconds=5)
        assert outcome.outcome == "ok", outcome.error
        # Its own topics only: it cannot pose as a store-file device.
        fridge.publish("store/s1/device/door-in/event/passage", {"ts": 1.0, "seq": 1})
        fridge.stop()

    async with Hub(config, plugins=[sync_plugin]) as hub:  # a restart: HQ sends nothing new
        await hub.wait_ready(15)
        assert hub.registry.get("fridge-9") is not None
        port = port_of(hub)
        assert connects(port, "fridge-9", password)
        fridge = PahoDevice(
            "s1", "fridge-9", "sensor", port, username="fridge-9", password=password
        )
        fridge.start().birth()
        fridge.event("temperature", celsius=4.0)
        await eventually(lambda: events_of(hub, "fridge-9") == 2)
        fridge.stop()
        assert events_of(hub, "door-in") == 0

        cloud.store.publish([PublishChange(type="device", key="fridge-9", op="delete")])
        await eventually(lambda: hub.registry.get("fridge-9") is None, timeout=10)
        await eventually(lambda: not connects(port, "fridge-9", password))
        assert "fridge-9" not in installer_view(config)
        secrets = json.loads((config.data_dir / "secrets.json").read_text())
        assert "fridge-9" not in secrets and "door-in" in secrets
