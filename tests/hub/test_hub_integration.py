"""The hub against a real Mosquitto, with plain-paho devices that know only the contract."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from hub.config import EnvSettings, load_config
from hub.db import connect_reader
from hub.hub import Hub
from tests.conftest import DEMO, Mosquitto, eventually
from tests.paho_device import PahoDevice

pytestmark = pytest.mark.integration


@pytest.fixture
async def hub(tmp_path: Path, mosquitto: Mosquitto) -> AsyncIterator[Hub]:
    cfg = load_config(
        EnvSettings(config=DEMO, data_dir=tmp_path / "data", broker_url=mosquitto.url, api_port=0)
    )
    async with Hub(cfg, plugins=[]) as h:
        await h.wait_ready(10)
        yield h


def db(hub: Hub) -> sqlite3.Connection:
    return connect_reader(hub.db_path)


def count(hub: Hub, sql: str, *args: Any) -> int:
    conn = db(hub)
    try:
        return int(conn.execute(sql, args).fetchone()[0])
    finally:
        conn.close()


async def test_hub_birth_is_retained(hub: Hub, mosquitto: Mosquitto) -> None:
    watcher = PahoDevice("s1", "watcher", "door", mosquitto.port).start("store/s1/hub/state")
    await eventually(lambda: watcher.messages)
    topic, body = watcher.messages[0]
    assert topic == "store/s1/hub/state"
    assert isinstance(body, dict) and body["online"] is True
    assert isinstance(body["version"], str) and isinstance(body["ts"], float)
    watcher.stop()


async def test_presence_and_offline_alert_after_unclean_disconnect(
    hub: Hub, mosquitto: Mosquitto
) -> None:
    staff = PahoDevice("s1", "staff", "x", mosquitto.port).start("store/s1/alert")
    door = PahoDevice("s1", "door-in", "door", mosquitto.port).start()
    door.birth()
    await eventually(lambda: hub.registry.get("door-in").online is True)  # type: ignore[union-attr]
    door.vanish()
    t0 = time.monotonic()
    await eventually(lambda: staff.messages, timeout=10)
    assert time.monotonic() - t0 < 10
    _, alert = staff.messages[0]
    assert isinstance(alert, dict)
    assert alert["kind"] == "device_offline" and alert["device"] == "door-in"
    assert alert["severity"] in ("warning", "critical") and alert["zone"] == "entrance"
    assert set(alert) == {"id", "ts", "severity", "kind", "title", "device", "zone", "data"}
    # Back online: the alert is resolved and staff hear so.
    door2 = PahoDevice("s1", "door-in", "door", mosquitto.port).start()
    door2.birth()
    await eventually(
        lambda: any(isinstance(b, dict) and b["kind"] == "device_online" for _, b in staff.messages)
    )
    assert hub.alerts.find("device_offline:door-in") is None
    assert count(hub, "SELECT COUNT(*) FROM presence WHERE device='door-in'") == 3
    door2.stop()
    staff.stop()


async def test_sleepy_device_raises_no_alert(tmp_path: Path, mosquitto: Mosquitto) -> None:
    config = tmp_path / "store.toml"
    config.write_text('[[devices]]\nid = "label-ap"\nkind = "door"\nmay_sleep = true\n')
    cfg = load_config(EnvSettings(config=config, data_dir=tmp_path / "d", broker_url=mosquitto.url))
    async with Hub(cfg, plugins=[]) as hub:
        await hub.wait_ready()
        dev = PahoDevice("s1", "label-ap", "door", mosquitto.port).start()
        dev.birth()
        await eventually(lambda: hub.registry.get("label-ap").online)  # type: ignore[union-attr]
        dev.vanish()
        await eventually(lambda: hub.registry.get("label-ap").online is False)  # type: ignore[union-attr]
        await asyncio.sleep(0.3)
        assert hub.alerts.live() == []


BAD_PAYLOADS: list[tuple[str, bytes, str]] = [
    ("event/passage", b"not json at all", "not_json"),
    ("event/passage", b"[1,2,3]", "not_object"),
    ("event/passage", b'{"ts": 1.0, "direction": "in"}', "invalid"),
    ("event/passage", b'{"ts": "yesterday", "seq": 1, "direction": "in"}', "invalid"),
    ("event/passage", b'{"ts": 1.0, "seq": 1, "direction": "up"}', "invalid"),
    (
        "event/passage",
        json.dumps({"ts": 1.0, "seq": 1, "direction": "in", "pad": "x" * 70_000}).encode(),
        "too_large",
    ),
    ("event/levitate", b'{"ts": 1.0, "seq": 1}', "unknown_event"),
    ("state", b'{"online": true}', "invalid"),
    (
        "state",
        b'{"online": true, "kind": "kiosk", "model": "m", "fw": "1", "ts": 1.0}',
        "kind_mismatch",
    ),
    ("reply", b'{"ok": true}', "invalid"),
    ("status", b"{}", "bad_topic"),
]


async def test_dead_letters_a_battery_while_good_events_flow(
    hub: Hub, mosquitto: Mosquitto
) -> None:
    door = PahoDevice("s1", "door-in", "door", mosquitto.port).start()
    door.birth()
    good = 0
    for suffix, payload, _reason in BAD_PAYLOADS:
        door.publish(f"store/s1/device/door-in/{suffix}", payload)
        door.event("passage", direction="in")
        good += 1
    door.publish("store/s1/device/ghost/event/passage", b'{"ts": 1.0, "seq": 1}')
    door.publish("store/s1/device/Bad_Id/event/passage", b"{}")
    expected = [r for _, _, r in BAD_PAYLOADS] + ["unknown_device", "bad_device_id"]
    await eventually(lambda: count(hub, "SELECT COUNT(*) FROM deadletter") == len(expected))
    await eventually(lambda: count(hub, "SELECT COUNT(*) FROM journal WHERE type='event'") == good)
    conn = db(hub)
    rows = conn.execute(
        "SELECT reason, device, topic, detail, head FROM deadletter ORDER BY id"
    ).fetchall()
    conn.close()
    assert sorted(r["reason"] for r in rows) == sorted(expected)
    assert all(r["detail"] or r["reason"] for r in rows)
    big = next(r for r in rows if r["reason"] == "too_large")
    assert len(big["head"]) == 256
    assert hub.metrics.deadletters.labels("door-in", "not_json")._value.get() == 1
    door.stop()


async def test_qos1_duplicates_are_dropped(hub: Hub, mosquitto: Mosquitto) -> None:
    door = PahoDevice("s1", "door-out", "door", mosquitto.port).start()
    seqs = [door.event("passage", direction="out") for _ in range(5)]
    for seq in seqs[:3]:  # redeliveries of already-seen (dev, seq)
        door.publish(
            "store/s1/device/door-out/event/passage",
            {"ts": time.time(), "seq": seq, "direction": "out"},
        )
    door.event("passage", direction="out")
    await eventually(lambda: count(hub, "SELECT COUNT(*) FROM journal WHERE type='event'") == 6)
    await asyncio.sleep(0.3)
    assert count(hub, "SELECT COUNT(*) FROM journal WHERE type='event'") == 6
    assert hub.ingest is not None and hub.ingest.duplicates == 3
    door.stop()


async def test_command_reply_timeout_and_expiry(hub: Hub, mosquitto: Mosquitto) -> None:
    door = PahoDevice("s1", "door-in", "door", mosquitto.port).start()
    door.birth()
    ok = await hub.command("door-in", "open", seconds=4, session="sess-1")
    assert ok.outcome == "ok" and ok.attempts == 1
    cmd = door.commands[-1]
    assert cmd["name"] == "open" and cmd["seconds"] == 4 and cmd["session"] == "sess-1"
    assert cmd["expires"] > cmd["ts"]

    door.auto_reply = False
    hub.commands.retry = 0.3
    t0 = time.monotonic()
    late = await hub.command("door-in", "lock", ttl=1.0)
    assert late.outcome == "timeout" and "no reply" in (late.error or "")
    assert 0.9 < time.monotonic() - t0 < 2.5
    ids = {c["id"] for c in door.commands if c["name"] == "lock"}
    assert len(ids) == 1 and late.attempts >= 2  # retried with the same id

    door.auto_reply = True
    rejected = await hub.command("door-in", "lock", ttl=-1.0)  # already expired
    assert rejected.outcome == "timeout" and rejected.attempts == 0
    conn = db(hub)
    await hub.journal.flush()
    outcomes = [
        json.loads(r[0])["outcome"]
        for r in conn.execute("SELECT data FROM journal WHERE type='command' ORDER BY id")
    ]
    conn.close()
    assert outcomes == ["ok", "timeout", "timeout"]
    door.stop()


async def test_device_refusing_a_repeated_or_expired_command(
    hub: Hub, mosquitto: Mosquitto
) -> None:
    door = PahoDevice("s1", "door-in", "door", mosquitto.port).start()
    door.seen_ids.add("will-not-match")
    hub.commands.retry = 0.2

    async def slow_reply() -> None:  # first reply lost → the retry is refused as a repeat
        door.auto_reply = False
        await eventually(lambda: door.commands)
        door.seen_ids.add(door.commands[0]["id"])
        door.auto_reply = True

    helper = asyncio.create_task(slow_reply())
    result = await hub.command("door-in", "open", ttl=3.0)
    await helper
    assert result.outcome == "ok" and "duplicate" in (result.error or "")
    assert result.attempts >= 2
    door.stop()


async def test_unknown_device_and_bad_command(hub: Hub) -> None:
    from hub.errors import CommandError, UnknownDevice

    with pytest.raises(UnknownDevice):
        await hub.command("nope", "open")
    with pytest.raises(CommandError, match="unknown command"):
        await hub.command("door-in", "self_destruct")


async def test_survives_broker_restart_without_losing_acked_events(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    cfg = load_config(EnvSettings(config=DEMO, data_dir=tmp_path / "d", broker_url=mosquitto.url))
    async with Hub(cfg, plugins=[]) as hub:
        await hub.wait_ready()
        door = PahoDevice("s1", "door-in", "door", mosquitto.port).start()
        for _ in range(50):
            door.event("passage", direction="in")  # each waits for the broker's PUBACK
        door.stop()
        mosquitto.stop()
        mosquitto.start()
        door = PahoDevice("s1", "door-in", "door", mosquitto.port).start()
        for _ in range(50):
            door.event("passage", direction="in")
        await eventually(
            lambda: count(hub, "SELECT COUNT(*) FROM journal WHERE type='event'") == 100, timeout=20
        )
        assert hub.transport is not None and hub.transport.reconnects >= 1
        door.stop()


async def test_events_queued_while_hub_is_away_are_delivered(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    cfg = load_config(EnvSettings(config=DEMO, data_dir=tmp_path / "d", broker_url=mosquitto.url))
    async with Hub(cfg, plugins=[]) as hub:  # first run creates the persistent session
        await hub.wait_ready()
    door = PahoDevice("s1", "door-in", "door", mosquitto.port).start()
    for _ in range(20):
        door.event("passage", direction="in")
    door.stop()
    async with Hub(cfg, plugins=[]) as hub:
        await hub.wait_ready()
        await eventually(
            lambda: count(hub, "SELECT COUNT(*) FROM journal WHERE type='event'") == 20
        )


async def test_a_failing_plugin_does_not_stop_the_hub(tmp_path: Path, mosquitto: Mosquitto) -> None:
    async def broken(_hub: Hub) -> None:
        raise RuntimeError("cannot start")

    cfg = load_config(EnvSettings(config=DEMO, data_dir=tmp_path / "d", broker_url=mosquitto.url))
    async with Hub(cfg, plugins=[broken]) as hub:
        await hub.wait_ready()
        await eventually(lambda: hub.alerts.live())
        alert = hub.alerts.live()[0]
        assert alert.kind == "plugin_failed" and "cannot start" in alert.title
        door = PahoDevice("s1", "door-in", "door", mosquitto.port).start()
        door.event("passage", direction="in")  # the core keeps working
        await eventually(lambda: count(hub, "SELECT COUNT(*) FROM journal WHERE type='event'") == 1)
        door.stop()
