"""simulators.base: presence, events, commands and misbehaviour, against a real Mosquitto."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from pathlib import Path

import pytest

from devices.base import DeviceConfig
from devices.door.codec import CODEC as DOOR
from devices.door.config import DoorConfig
from hub.config import EnvSettings, load_config
from hub.errors import PayloadError
from hub.ingest import StatePayload
from hub.secrets import load_secrets
from hub.topics import DeviceTopic
from simulators.base import (
    GARBAGE_KINDS,
    DeviceSimulator,
    GarbageKind,
    ReceivedCommand,
    SimEndpoint,
    SimulatorError,
    endpoint_for,
)
from simulators.door import DoorSimulator
from tests.simulators.conftest import (
    DEMO,
    STORE,
    Broker,
    Watcher,
    demo_device,
    wait_reply,
    watch,
)


def door(broker: Broker) -> DoorSimulator:
    return DoorSimulator(demo_device("door-in", DoorConfig), STORE, broker.endpoint)


# --- presence -----------------------------------------------------------------


async def test_birth_is_retained_with_the_contract_fields(broker: Broker) -> None:
    before = time.time()
    # A client that subscribes afterwards still gets it: retained.
    async with door(broker), watch(broker, f"store/{STORE}/device/door-in/state") as late:
        seen = await late.wait_for(lambda ms: bool(ms))
    state = seen[0]
    assert state.retain is True
    body = state.body
    assert set(body) == {"online", "kind", "model", "fw", "ts"}
    assert body["online"] is True and body["kind"] == "door"
    assert isinstance(body["model"], str) and isinstance(body["fw"], str)
    assert isinstance(body["ts"], float) and before <= body["ts"] <= time.time()
    assert StatePayload.model_validate_json(state.payload).online  # the hub's own check


async def test_close_leaves_a_retained_offline_state(broker: Broker) -> None:
    async with door(broker) as sim:
        assert sim.connected
    assert not sim.connected
    async with watch(broker, f"store/{STORE}/device/door-in/state") as late:
        seen = await late.wait_for(lambda ms: bool(ms))
    assert seen[0].body == {"online": False} and seen[0].retain


async def test_drop_makes_the_broker_publish_the_will(broker: Broker, watcher: Watcher) -> None:
    sim = door(broker)
    await sim.connect()
    await watcher.wait_for(lambda ms: len(watcher.on("door-in/state")) == 1)
    await sim.drop()
    assert not sim.connected
    states = await watcher.wait_for(lambda ms: len(watcher.on("door-in/state")) == 2)
    assert [m.body["online"] for m in states if m.topic.endswith("/state")] == [True, False]
    assert watcher.on("door-in/state")[1].payload == b'{"online":false}'
    with pytest.raises(SimulatorError, match="not connected"):
        await sim.passage("in")
    # Back again: a new birth, and the events go on with growing seq.
    last = sim.next_seq()
    await sim.reconnect()
    assert await sim.passage("in") >= last
    await watcher.wait_for(lambda ms: len(watcher.on("door-in/state")) == 3)
    assert watcher.on("door-in/state")[2].body["online"] is True
    await sim.close()


async def test_clean_offline_publishes_offline_and_no_will(
    broker: Broker, watcher: Watcher
) -> None:
    sim = door(broker)
    await sim.connect()
    await sim.clean_offline()
    assert not sim.connected
    await watcher.wait_for(lambda ms: len(watcher.on("door-in/state")) == 2)
    await asyncio.sleep(0.2)  # a will would come now
    assert [m.body for m in watcher.on("door-in/state")][1:] == [{"online": False}]
    await sim.close()  # a no-op when already gone


async def test_connect_to_no_broker_fails_with_a_simulator_error() -> None:
    sim = DoorSimulator(demo_device("door-in", DoorConfig), STORE, SimEndpoint("127.0.0.1", 1))
    with pytest.raises(SimulatorError, match="cannot connect"):
        await sim.connect(retry_for=0.3)


# --- events -------------------------------------------------------------------


async def test_events_validate_against_the_codec_and_seq_grows(
    broker: Broker, watcher: Watcher
) -> None:
    start_ms = int(time.time() * 1000)
    async with door(broker) as sim:
        seqs = [await sim.passage("in"), await sim.event("door", open=True), await sim.force()]
        await sim.passage("out")
    events = await watcher.wait_for(lambda ms: len([m for m in ms if "/event/" in m.topic]) == 4)
    got = [m for m in events if "/event/" in m.topic]
    payloads = [DOOR.decode_event(m.topic.rsplit("/", 1)[1], m.payload) for m in got]
    assert [p.seq for p in payloads][:3] == seqs
    assert all(b.seq == a.seq + 1 for a, b in itertools.pairwise(payloads))
    assert payloads[0].seq >= start_ms  # starts at the time in ms: grows across restarts
    assert all(abs(p.ts - time.time()) < 5 for p in payloads)
    assert [m.topic for m in got] == [
        f"store/{STORE}/device/door-in/event/{n}" for n in ("passage", "door", "forced", "passage")
    ]
    assert sim.events_sent == 4


def test_events_carry_the_fields_given_as_the_codec_reads_them() -> None:
    sim = door_config_sim()
    plain = json.loads(sim.encode_event("passage", {"ts": 1, "seq": 2, "direction": "in"}))
    assert plain == {"ts": 1.0, "seq": 2, "direction": "in"}  # optional fields stay out
    given = {"ts": 1, "seq": 2, "direction": "in", "session": None, "junk": 1}
    assert json.loads(sim.encode_event("passage", given)) == {
        "ts": 1.0,
        "seq": 2,
        "direction": "in",
        "session": None,
    }


def door_config_sim() -> DoorSimulator:
    return DoorSimulator(demo_device("door-in", DoorConfig), STORE, SimEndpoint("127.0.0.1", 1))


async def test_seq_keeps_growing_across_simulator_restarts(
    broker: Broker,
) -> None:
    async with door(broker) as first:
        last = await first.passage("in")
    await asyncio.sleep(0.01)
    async with door(broker) as second:
        assert await second.passage("in") > last


async def test_an_event_the_codec_rejects_is_not_sent(broker: Broker, watcher: Watcher) -> None:
    async with door(broker) as sim:
        seq = sim.next_seq()
        with pytest.raises(SimulatorError, match="direction"):
            await sim.event("passage", direction="sideways")
        with pytest.raises(SimulatorError, match="unknown_event"):
            await sim.event("levitate")
        assert sim.next_seq() == seq  # nothing used up
        assert await sim.passage("out") == seq
    await watcher.wait_for(lambda ms: any("/event/" in m.topic for m in ms))
    await asyncio.sleep(0.1)
    assert len([m for m in watcher.messages if "/event/" in m.topic]) == 1


async def test_resend_publishes_the_same_bytes_again(broker: Broker, watcher: Watcher) -> None:
    async with door(broker) as sim:
        seq = await sim.passage("in")
        await sim.passage("out")
        await sim.resend(seq)
        await sim.resend()  # the last one
        with pytest.raises(SimulatorError, match="no sent event"):
            await sim.resend(12)
    got = await watcher.wait_for(lambda ms: len(watcher.on("/event/passage")) == 4)
    first, second, again, last_again = (m.payload for m in got if "/event/" in m.topic)
    assert again == first and last_again == second and first != second
    assert json.loads(again)["seq"] == seq


def _reason(topic: str, payload: bytes) -> str:
    """What the hub's ingest would make of a door message."""
    parsed = DeviceTopic.parse(topic, STORE)
    if parsed.device != "door-in":
        return "foreign_topic"
    assert parsed.channel == "event" and parsed.name is not None
    try:
        DOOR.decode_event(parsed.name, payload)
    except PayloadError as exc:
        return exc.reason
    return "accepted"


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("not_json", "not_json"),
        ("array", "not_object"),
        ("missing_field", "invalid"),
        ("wrong_type", "invalid"),
        ("oversized", "too_large"),
        ("unknown_event", "unknown_event"),
        ("foreign_topic", "foreign_topic"),
    ],
)
async def test_garbage_is_what_the_hub_rejects(
    broker: Broker, watcher: Watcher, kind: GarbageKind, reason: str
) -> None:
    assert kind in GARBAGE_KINDS
    async with door(broker) as sim:
        seq = sim.next_seq()
        topic = await sim.garbage(kind)
        assert sim.next_seq() == seq
    got = await watcher.wait_for(lambda ms: any(m.topic == topic for m in ms))
    (message,) = [m for m in got if m.topic == topic]
    assert _reason(message.topic, message.payload) == reason
    if kind == "oversized":
        assert len(message.payload) > 64 * 1024
    if kind == "foreign_topic":
        assert topic == f"store/{STORE}/device/impostor/event/passage"


async def test_publish_raw_takes_a_suffix_or_a_full_topic(broker: Broker, watcher: Watcher) -> None:
    async with door(broker) as sim:
        assert await sim.publish_raw("event/door", b"{}") == f"{sim.base}/event/door"
        other = f"store/{STORE}/device/door-out/event/door"
        assert await sim.publish_raw(other, b"x") == other
    await watcher.wait_for(lambda ms: len(watcher.on("/event/door")) == 2)


# --- commands -----------------------------------------------------------------


async def test_commands_expired_repeated_unknown_and_invalid_get_ok_false(
    broker: Broker, watcher: Watcher
) -> None:
    async with door(broker) as sim:
        await watcher.command("door-in", "open", id="old", expires_in=-1, seconds=1)
        assert await wait_reply(watcher, "door-in", "old") == {
            "id": "old",
            "ok": False,
            "error": "expired",
        }
        await watcher.command("door-in", "lock", id="c1")
        assert (await wait_reply(watcher, "door-in", "c1"))["ok"] is True
        await watcher.command("door-in", "lock", id="c1")
        again = await wait_reply(watcher, "door-in", "c1", count=2)
        assert again["ok"] is False and again["error"] == "duplicate"
        await watcher.command("door-in", "explode", id="c2")
        bad = await wait_reply(watcher, "door-in", "c2")
        assert bad["ok"] is False and "unknown command" in bad["error"]
        await watcher.command("door-in", "open", id="c3", seconds="soon")
        bad = await wait_reply(watcher, "door-in", "c3")
        assert bad["ok"] is False and bad["error"].startswith("invalid: seconds")
        # Unknown fields are ignored (contract).
        await watcher.command("door-in", "release", id="c4", reason="fire", colour="red")
        assert (await wait_reply(watcher, "door-in", "c4"))["ok"] is True
        # No usable id: nothing to reply to.
        await watcher.client.publish(f"{sim.base}/command/lock", b"[]", qos=1)
        await watcher.command("door-in", "lock", id="c5")
        await wait_reply(watcher, "door-in", "c5")
    assert sim.bad_commands == 1
    assert [c.id for c in sim.commands_received] == ["old", "c1", "c1", "c2", "c3", "c4", "c5"]
    assert sim.commands_received[-2] == ReceivedCommand(
        "release", {"reason": "fire", "colour": "red"}, "c4"
    )
    assert len(sim.replies) == 7


async def test_reply_delay_and_ignore_commands(broker: Broker, watcher: Watcher) -> None:
    async with door(broker) as sim:
        sim.reply_delay = 0.3
        sent = time.monotonic()
        await watcher.command("door-in", "lock", id="slow")
        await wait_reply(watcher, "door-in", "slow")
        assert time.monotonic() - sent >= 0.3
        sim.reply_delay = 0
        sim.ignore_commands = True
        await watcher.command("door-in", "lock", id="deaf")
        await watcher.wait_for(lambda ms: len(sim.commands_received) == 2)
        await asyncio.sleep(0.2)
        assert "deaf" not in {m.body["id"] for m in watcher.on("/reply")}


async def test_a_kind_without_a_simulator_gets_the_generic_one(
    broker: Broker, watcher: Watcher
) -> None:
    config = DeviceConfig(id="thermo-1", kind="thermometer")
    async with DeviceSimulator(config, STORE, broker.endpoint) as sim:
        assert sim.codec is None
        await sim.event("temperature", celsius=4.5)
        await watcher.command("thermo-1", "calibrate", id="k1", offset=0.5)
        assert (await wait_reply(watcher, "thermo-1", "k1"))["ok"] is True
    (event,) = watcher.on("thermo-1/event/temperature")
    assert event.body["celsius"] == 4.5 and isinstance(event.body["seq"], int)
    assert sim.commands_received == [ReceivedCommand("calibrate", {"offset": 0.5}, "k1")]


class Listener(DeviceSimulator[DeviceConfig]):
    """A device that also listens to a topic of its own choosing."""

    def __init__(self, config: DeviceConfig, store: str, endpoint: SimEndpoint) -> None:
        super().__init__(config, store, endpoint)
        self.heard: list[tuple[str, bytes]] = []

    def subscriptions(self) -> tuple[str, ...]:
        return (f"store/{STORE}/broadcast/#",)

    async def on_message(self, topic: str, payload: bytes) -> None:
        self.heard.append((topic, payload))


async def test_extra_subscriptions_reach_on_message_and_commands_still_work(
    broker: Broker, watcher: Watcher
) -> None:
    async with Listener(DeviceConfig(id="ear-1", kind="ear"), STORE, broker.endpoint) as sim:
        await watcher.client.publish(f"store/{STORE}/broadcast/news", b"hello", qos=1)
        await watcher.client.publish(f"store/{STORE}/elsewhere", b"not for it", qos=1)
        await watcher.command("ear-1", "ping", id="p1")
        assert (await wait_reply(watcher, "ear-1", "p1"))["ok"] is True
    assert sim.heard == [(f"store/{STORE}/broadcast/news", b"hello")]
    assert [c.name for c in sim.commands_received] == ["ping"]


def test_a_simulator_needs_its_kinds_config() -> None:
    kiosk: DeviceConfig = demo_device("kiosk-1", DeviceConfig)
    with pytest.raises(TypeError, match="DoorConfig"):
        DoorSimulator(kiosk, STORE, SimEndpoint("127.0.0.1", 1883))  # type: ignore[arg-type]


# --- endpoints ----------------------------------------------------------------


def test_endpoint_for_an_external_broker_uses_the_url(tmp_path: Path) -> None:
    cfg = load_config(
        EnvSettings(config=DEMO, data_dir=tmp_path, broker_url="mqtts://sim:p%40ss@broker:8884")
    )
    assert endpoint_for(cfg, "door-in") == SimEndpoint("broker", 8884, "sim", "p@ss", tls=True)
    assert "p@ss" not in repr(endpoint_for(cfg, "door-in"))
    assert not (tmp_path / "secrets.json").exists()


def test_endpoint_for_the_managed_broker_uses_the_devices_credentials(tmp_path: Path) -> None:
    cfg = load_config(EnvSettings(config=DEMO, data_dir=tmp_path))
    ep = endpoint_for(cfg, "gate-out")
    creds = load_secrets(tmp_path, cfg.store.devices)["gate-out"]
    assert (ep.host, ep.port, ep.tls) == ("127.0.0.1", 1883, False)
    assert (ep.username, ep.password) == ("gate-out", creds.password)
    assert endpoint_for(cfg, "gate-out", port=4242).port == 4242
    with pytest.raises(SimulatorError, match="no device 'nope'"):
        endpoint_for(cfg, "nope")
