"""Device simulators: stand-ins for real store hardware that speak the wire contract.

Each reuses its kind's codec (``devices/<kind>/codec.py``) to build events and to
check commands, so simulators and hub cannot drift. See ``docs/simulators.md``.
"""

from simulators.base import (
    GARBAGE_KINDS,
    CommandRejected,
    DeviceSimulator,
    GarbageKind,
    ReceivedCommand,
    SimEndpoint,
    SimulatorError,
    endpoint_for,
)
from simulators.door import DoorSimulator
from simulators.kiosk import KioskSimulator
from simulators.registry import SIMULATORS, register, simulator_class, simulator_for
from simulators.rfid_gate import GateNoise, RfidGateSimulator, WalkResult

__all__ = [
    "GARBAGE_KINDS",
    "SIMULATORS",
    "CommandRejected",
    "DeviceSimulator",
    "DoorSimulator",
    "GarbageKind",
    "GateNoise",
    "KioskSimulator",
    "ReceivedCommand",
    "RfidGateSimulator",
    "SimEndpoint",
    "SimulatorError",
    "WalkResult",
    "endpoint_for",
    "register",
    "simulator_class",
    "simulator_for",
]
