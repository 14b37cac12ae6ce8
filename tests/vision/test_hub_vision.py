"""Vision in a real hub (real Mosquitto): simulated cameras feed plates, members and item
counts in as events; a Frigate installation plugs in instead; the VIP rule alerts."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from devices.camera.config import CameraConfig
from devices.frigate.config import FrigateConfig
from hub.config import EnvSettings, HubConfig, load_config
from hub.db import connect_reader
from hub.hub import Hub
from rules.engine import plugin as rules_plugin
from simulators.vision.camera import (
    car_park_frames,
    checkout_frames,
    empty_frame,
    entrance_frame,
    write_frames,
)
from simulators.vision.items import TEST_SEED, Sku
from tests.conftest import DEMO, REPO, Mosquitto, eventually
from tests.vision.conftest import astronaut, grace_hopper, jpeg
from vision.plugin import plugin as vision_plugin
from vision.service import VisionService

pytestmark = pytest.mark.integration

VIP_PLATE = "粤B12345"


def config(tmp_path: Path, mosquitto: Mosquitto) -> HubConfig:
    cams = tmp_path / "cams"
    # Three frames each (an odd loop): a camera dropping frames under load still sees all.
    park = car_park_frames([VIP_PLATE, "京AD12345"], seed=3, severity=0.3)
    write_frames(cams / "park", [*park, empty_frame()])
    write_frames(
        cams / "entry",
        [entrance_frame(astronaut(), label="m-1001", seed=1),
         entrance_frame(grace_hopper(), label="stranger", seed=2), empty_frame()],
    )  # fmt: skip
    skus = [
        Sku(g, n)
        for g, n in (
            ("06901234567892", "Jasmine green tea 500 ml"),
            ("06901234561012", "Rice crackers 150 g"),
        )
    ]
    write_frames(cams / "checkout", checkout_frames(skus, 3, seed=TEST_SEED))
    cfg = load_config(
        EnvSettings(config=DEMO, data_dir=tmp_path / "data", broker_url=mosquitto.url, api_port=0)
    )
    devices = [
        *cfg.store.devices,
        CameraConfig(id="cam-park", zone="car-park", source=str(cams / "park"), tasks=["plates"],
                     fps=2, loop=True, repeat_s=3600),
        CameraConfig(id="cam-entry", zone="entrance", source=str(cams / "entry"),
                     tasks=["faces"], fps=2, loop=True, repeat_s=3600),
        CameraConfig(id="cam-checkout", zone="checkout", source=str(cams / "checkout"),
                     tasks=["items"], fps=2, loop=True),
        FrigateConfig(id="frigate", zone="car-park", zones={"front_lot": "car-park"}),
    ]  # fmt: skip
    return cfg.model_copy(update={"store": cfg.store.model_copy(update={"devices": devices})})


@pytest.fixture
async def hub(
    tmp_path: Path, mosquitto: Mosquitto, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Hub]:
    rules = tmp_path / "rules"
    rules.mkdir()
    shutil.copy(REPO / "configs" / "rules" / "vip.toml", rules)
    monkeypatch.setenv("STOREHUB_RULES_DIR", str(rules))
    async with Hub(config(tmp_path, mosquitto), plugins=[vision_plugin, rules_plugin]) as h:
        await h.wait_ready(10)
        yield h


def events(hub: Hub, name: str) -> list[dict[str, Any]]:
    db = connect_reader(hub.db_path)
    try:
        rows = db.execute(
            "SELECT device, data FROM journal WHERE type='event' AND name=? ORDER BY id", (name,)
        ).fetchall()
        return [{"device": r["device"], **json.loads(r["data"])} for r in rows]
    finally:
        db.close()


def publish(mosquitto: Mosquitto, topic: str, body: bytes) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="frigate-sim")
    client.connect("127.0.0.1", mosquitto.port)
    client.loop_start()
    client.publish(topic, body, qos=1).wait_for_publish(5)
    client.loop_stop()
    client.disconnect()


async def service(hub: Hub) -> VisionService:
    await eventually(lambda: hub.service(VisionService) is not None)
    found = hub.service(VisionService)
    assert found is not None
    return found


async def test_cameras_feed_plates_and_consenting_members_only(hub: Hub) -> None:
    vision = await service(hub)
    await vision.add_plate(VIP_PLATE, member="m-1001", label="Ms Wang", tier="vip",
                           account_manager="li.wei")  # fmt: skip
    await vision.faces.grant("m-1001", text_version="face-v1", by="li.wei")
    await vision.faces.enrol("m-1001", [jpeg(astronaut())])

    await eventually(lambda: any(e["known"] for e in events(hub, "plate_seen")), timeout=60)
    vip = next(e for e in events(hub, "plate_seen") if e["known"])
    assert (vip["device"], vip["plate"], vip["member"], vip["zone"]) == (
        "cam-park",
        VIP_PLATE,
        "m-1001",
        "car-park",
    )
    # The VIP rule told the account manager.
    await eventually(lambda: any(a.kind == "vip_arrival" for a in hub.alerts.live()), timeout=10)
    alert = next(a for a in hub.alerts.live() if a.kind == "vip_arrival")
    assert alert.data["account_manager"] == "li.wei" and "Ms Wang" in alert.title

    await eventually(lambda: events(hub, "member_seen"), timeout=60)
    seen = events(hub, "member_seen")
    # Grace Hopper walks past the same camera: she never enrolled, so nothing about her.
    assert {e["member"] for e in seen} == {"m-1001"}
    assert seen[0]["camera"] == "cam-entry" and seen[0]["score"] > 0.5
    # The checkout camera counts items per SKU (GTINs of the catalog).
    await eventually(lambda: events(hub, "items"), timeout=30)
    basket = events(hub, "items")[0]
    assert basket["device"] == "cam-checkout"
    assert basket["total"] == sum(c["count"] for c in basket["counts"])
    assert all(len(c["gtin"]) == 14 for c in basket["counts"])
    # Frames were analysed off the event loop and counted.
    cam = hub.registry.get("cam-entry")
    assert cam is not None and cam.driver.stats.analysed > 0  # type: ignore[attr-defined]


async def test_frigate_plugs_in_instead(hub: Hub, mosquitto: Mosquitto) -> None:
    vision = await service(hub)
    await vision.add_plate(VIP_PLATE, member="m-1001", label="Ms Wang", tier="vip",
                           account_manager="li.wei")  # fmt: skip
    await vision.faces.grant("m-1001", text_version="face-v1", by="li.wei")
    ts = 1_800_000_000.0
    new = {
        "type": "new",
        "after": {
            "id": "1.1-abc",
            "camera": "lot",
            "label": "car",
            "score": 0.8,
            "top_score": 0.9,
            "frame_time": ts,
            "current_zones": ["front_lot"],
        },
    }
    publish(mosquitto, "frigate/events", json.dumps(new).encode())
    lpr = {
        "type": "lpr",
        "id": "1.1-abc",
        "name": None,
        "plate": "粤B·12345",
        "score": 0.93,
        "camera": "lot",
        "timestamp": ts,
    }
    publish(mosquitto, "frigate/tracked_object_update", json.dumps(lpr).encode())
    for name in ("m-1001", "someone"):  # consented; never asked
        face = {
            "type": "face",
            "id": "1.2-def",
            "name": name,
            "score": 0.9,
            "camera": "door",
            "timestamp": ts,
        }
        publish(mosquitto, "frigate/tracked_object_update", json.dumps(face).encode())
    publish(mosquitto, "frigate/events", b"{not json")  # fmt: skip

    await eventually(lambda: events(hub, "plate_seen") and events(hub, "member_seen"))
    [obj] = [e for e in events(hub, "object_seen") if e["device"] == "frigate"]
    assert obj["zones"] == ["car-park"] and obj["label"] == "car"
    plate = next(e for e in events(hub, "plate_seen") if e["device"] == "frigate")
    assert (
        plate["plate"] == VIP_PLATE and plate["member"] == "m-1001" and plate["raw"] == "粤B·12345"
    )
    members = [e["member"] for e in events(hub, "member_seen") if e["device"] == "frigate"]
    assert members == ["m-1001"]  # "someone" has no consent here: not reported
    await eventually(lambda: any(a.kind == "vip_arrival" for a in hub.alerts.live()))
    db = connect_reader(hub.db_path)
    try:
        dead = db.execute("SELECT device, reason FROM deadletter").fetchall()
    finally:
        db.close()
    assert [tuple(r) for r in dead] == [("frigate", "not_json")]
