"""The ``sensor`` kind: codec, config, driver discovery and its simulator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devices import drivers
from devices.sensor.codec import CODEC, Identify, Interval, Queue, Temperature
from devices.sensor.config import SensorConfig
from hub.config import load_store_file
from hub.errors import CommandError, PayloadError
from simulators.base import SimEndpoint, SimulatorError
from simulators.sensor import SensorSimulator


def raw(obj: object) -> bytes:
    return json.dumps(obj).encode()


def test_discovered_as_a_kind() -> None:
    assert drivers()["sensor"].codec is CODEC
    assert drivers()["sensor"].config_model is SensorConfig


@pytest.mark.parametrize(
    ("name", "payload", "expected"),
    [
        ("temperature", {"ts": 1, "seq": 1, "celsius": 4}, Temperature(ts=1, seq=1, celsius=4.0)),
        (
            "temperature",
            {"ts": 1.5, "seq": 2, "celsius": -19.5, "battery": 80},
            Temperature(ts=1.5, seq=2, celsius=-19.5),
        ),
        ("queue", {"ts": 1, "seq": 3, "count": 5}, Queue(ts=1, seq=3, count=5)),
    ],
)
def test_decodes(name: str, payload: dict[str, object], expected: object) -> None:
    assert CODEC.decode_event(name, raw(payload)) == expected


@pytest.mark.parametrize(
    ("name", "payload", "reason"),
    [
        ("temperature", {"ts": 1, "seq": 1}, "invalid"),
        ("temperature", {"ts": 1, "seq": 1, "celsius": "4"}, "invalid"),
        ("temperature", {"ts": 1, "seq": 1, "celsius": 500}, "invalid"),
        ("queue", {"ts": 1, "seq": 1, "count": -1}, "invalid"),
        ("queue", {"ts": 1, "seq": 1, "count": 2.5}, "invalid"),
        ("humidity", {"ts": 1, "seq": 1}, "unknown_event"),
    ],
)
def test_rejects(name: str, payload: dict[str, object], reason: str) -> None:
    with pytest.raises(PayloadError) as info:
        CODEC.decode_event(name, raw(payload))
    assert info.value.reason == reason


def test_commands() -> None:
    assert CODEC.build_command("interval", {"seconds": 60}) == Interval(seconds=60)
    assert CODEC.build_command("identify", {}) == Identify(seconds=10)
    with pytest.raises(CommandError, match="seconds"):
        CODEC.build_command("interval", {"seconds": 0})
    with pytest.raises(CommandError, match="unknown command 'reboot'"):
        CODEC.build_command("reboot", {})
    assert CODEC.streams == {"temperature": "cold_chain", "fire": "security"}


def test_config(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text('[[devices]]\nid = "fridge-1"\nkind = "sensor"\nrole = "fridge"\n')
    [device] = load_store_file(path).devices
    assert isinstance(device, SensorConfig) and device.role == "fridge" and device.interval_s == 30
    path.write_text('[[devices]]\nid = "f"\nkind = "sensor"\nrole = "oven"\n')
    with pytest.raises(Exception, match=r"devices\[0\] \(id=f\)\.role"):
        load_store_file(path)


def test_simulator_speaks_the_codec() -> None:
    sim = SensorSimulator(
        SensorConfig(id="fridge-1", role="fridge"), "s1", SimEndpoint("127.0.0.1", 1), seed=3
    )
    assert sim.value == 4.0 and not sim.counts_people
    body = json.loads(sim.encode_event("temperature", {"ts": 1.0, "seq": 1, "celsius": 9.5}))
    assert body == {"ts": 1.0, "seq": 1, "celsius": 9.5}
    with pytest.raises(SimulatorError, match="not valid"):
        sim.encode_event("temperature", {"ts": 1.0, "seq": 1, "celsius": 900})
    counter = SensorSimulator(SensorConfig(id="q", role="queue"), "s1", SimEndpoint("x", 1))
    assert counter.counts_people and counter.value == 0


async def test_simulator_obeys_interval() -> None:
    sim = SensorSimulator(
        SensorConfig(id="fridge-1", role="fridge"), "s1", SimEndpoint("127.0.0.1", 1)
    )
    reply = await sim.on_command("interval", Interval(seconds=5))
    assert sim.interval == 5.0 and reply == {"interval": 5.0}
