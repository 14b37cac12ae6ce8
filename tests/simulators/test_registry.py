"""simulators.registry: which class plays which kind."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from devices.base import DeviceConfig
from simulators.base import DeviceSimulator, SimEndpoint
from simulators.door import DoorSimulator
from simulators.kiosk import KioskSimulator
from simulators.registry import SIMULATORS, register, simulator_class, simulator_for
from simulators.rfid_gate import RfidGateSimulator
from tests.simulators.conftest import STORE, demo_store

ENDPOINT = SimEndpoint("127.0.0.1", 1883)


@pytest.mark.parametrize(
    ("device", "cls"),
    [
        ("door-in", DoorSimulator),
        ("gate-out", RfidGateSimulator),
        ("kiosk-1", KioskSimulator),
    ],
)
def test_the_demo_kinds_get_their_own_simulators(device: str, cls: type[Any]) -> None:
    config = demo_store().device(device)
    assert config is not None
    sim = simulator_for(config, STORE, ENDPOINT, seed=1)
    assert type(sim) is cls and sim.device_id == device and sim.codec is not None


def test_an_unknown_kind_gets_the_generic_simulator() -> None:
    assert simulator_class("thermometer") is DeviceSimulator
    assert simulator_class("not-a-module-name") is DeviceSimulator
    sim = simulator_for(DeviceConfig(id="t-1", kind="thermometer"), STORE, ENDPOINT)
    assert type(sim) is DeviceSimulator and sim.codec is None


def test_registered_simulators_win() -> None:
    class Fancy(DeviceSimulator[DeviceConfig]):
        kind: ClassVar[str | None] = "fancy"

    try:
        assert register(Fancy) is Fancy
        assert simulator_class("fancy") is Fancy
    finally:
        SIMULATORS.pop("fancy", None)
    with pytest.raises(ValueError, match="names no kind"):
        register(DeviceSimulator)
