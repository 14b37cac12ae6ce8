"""Sync as a plugin of a real hub (real Mosquitto), in HTTPS and in MQTT bridge mode."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import generate_latest

from hub.config import EnvSettings, HubConfig, SyncConfig, load_config
from hub.hub import Hub
from hub.sync import Sync, UploadBatch, plugin
from hub.transport import Endpoint, Incoming, MqttTransport
from simulators.cloud import CloudServer, PublishChange
from tests.conftest import DEMO, Mosquitto, eventually
from tests.hub.sync.conftest import TOKEN, fast_config, sql, write

pytestmark = pytest.mark.integration


def hub_config(tmp_path: Path, mosquitto: Mosquitto, sync: SyncConfig) -> HubConfig:
    cfg = load_config(
        EnvSettings(config=DEMO, data_dir=tmp_path / "data", broker_url=mosquitto.url, api_port=0)
    )
    return cfg.model_copy(update={"store": cfg.store.model_copy(update={"sync": sync})})


@pytest.fixture
async def https_hub(
    tmp_path: Path, mosquitto: Mosquitto, cloud: CloudServer, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Hub]:
    monkeypatch.setenv("STOREHUB_SYNC_TOKEN", TOKEN)
    async with Hub(
        hub_config(tmp_path, mosquitto, fast_config(cloud.url)), plugins=[plugin]
    ) as hub:
        await hub.wait_ready(10)
        yield hub


async def test_alerts_reach_the_cloud_and_hq_changes_reach_the_store(
    https_hub: Hub, cloud: CloudServer
) -> None:
    hub = https_hub
    await eventually(lambda: hub.service(Sync) is not None)
    await hub.alerts.raise_("help", "warning", "help at kiosk-1", device="kiosk-1")
    await eventually(lambda: any(r["stream"] == "alerts" for r in cloud.store.records("s1")))
    record = next(r for r in cloud.store.records("s1") if r["stream"] == "alerts")
    assert json.loads(record["data"])["kind"] == "help"

    cloud.store.publish(
        [PublishChange(type="member", key="vip-9", data={"name": "Zhao", "vip": True})]
    )
    sync = hub.service(Sync)
    assert sync is not None
    await eventually(lambda: sync.status().inbox_cursor == 1, timeout=5)
    exported = generate_latest(hub.metrics.registry).decode()
    assert 'storehub_sync_uploaded_total{status="stored",stream="alerts"}' in exported
    assert "storehub_sync_inbox_applied_total" in exported


async def test_mqtt_bridge_mode_publishes_batches_qos1(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    received: list[UploadBatch] = []

    async def collect(message: Incoming) -> None:
        received.append(UploadBatch.model_validate_json(message.payload))

    cloud_side = MqttTransport(
        Endpoint("127.0.0.1", mosquitto.port),
        client_id="cloud-bridge",
        subscriptions=["store/s1/cloud/#"],
        manual_ack=False,
    )
    listener = asyncio.create_task(cloud_side.run(collect))
    await asyncio.wait_for(cloud_side.connected.wait(), 10)
    config = fast_config("", mode="mqtt", enabled=True)
    try:
        async with Hub(hub_config(tmp_path, mosquitto, config), plugins=[plugin]) as hub:
            await hub.wait_ready(10)
            for n in range(3):
                await hub.alerts.raise_("help", "warning", f"help {n}", key=f"help:{n}")
            await eventually(lambda: sum(len(b.records) for b in received) >= 3)
            sync = hub.service(Sync)
            assert sync is not None and sync.inbox is None  # no url: no inbox
            await eventually(lambda: sync.status().pending_rows == 0)
    finally:
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)
    records = [r for b in received for r in b.records]
    data: list[dict[str, Any]] = [r.data for r in records]  # type: ignore[misc]
    assert [d["title"] for d in data] == ["help 0", "help 1", "help 2"]
    assert [r.prev for r in records][1:] == [r.seq for r in records][:-1]


async def test_a_missing_credential_turns_sync_off_not_the_hub(
    tmp_path: Path, mosquitto: Mosquitto, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STOREHUB_SYNC_TOKEN", raising=False)
    config = fast_config("https://cloud.example")
    async with Hub(hub_config(tmp_path, mosquitto, config), plugins=[plugin]) as hub:
        await hub.wait_ready(10)
        await eventually(lambda: hub.alerts.find("sync_config") is not None)
        assert hub.service(Sync) is None and hub.ready.is_set()


async def test_the_disk_budget_holds_with_sync_disabled(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    # Outbox rows are written with every journal entry even with sync off: they must
    # still be held to the budget (warning, droppable streams dropped, sales kept).
    config = SyncConfig(enabled=False, budget_bytes=8192, budget_check_s=0.05)
    async with Hub(hub_config(tmp_path, mosquitto, config), plugins=[plugin]) as hub:
        await hub.wait_ready(10)
        assert hub.service(Sync) is None  # nothing uploads, nothing pulls
        db = hub.db_path
        await write(hub.journal, "sales", 5)
        await write(hub.journal, "traffic", 100)
        await eventually(lambda: hub.alerts.find("sync_rows_dropped:traffic") is not None)
        assert hub.alerts.find("sync_budget_warning") is not None
        assert hub.alerts.find("sync_budget_full") is None
        kept = {r[0]: r[1] for r in sql(db, "SELECT stream, COUNT(*) FROM outbox GROUP BY stream")}
        assert kept["sales"] == 5 and 0 < kept["traffic"] < 100
        notice = json.loads(sql(db, "SELECT data FROM outbox WHERE stream = 'sync'")[0][0])
        assert notice["kind"] == "dropped" and notice["stream"] == "traffic"
        # Sales alone over the budget: every one is kept, and staff are told.
        await write(hub.journal, "sales", 120, start=5)
        await eventually(lambda: hub.alerts.find("sync_budget_full") is not None)
        assert sql(db, "SELECT COUNT(*) FROM outbox WHERE stream = 'sales'")[0][0] == 125
        exported = generate_latest(hub.metrics.registry).decode()
        assert 'storehub_sync_dropped_total{stream="traffic"}' in exported
