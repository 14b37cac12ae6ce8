"""The simulators' errors::

    HubError
    └── SimulatorError       not connected, an event the codec rejects, an unknown seq, ...
        ├── ScenarioError    (simulators.scenario) a bad scenario file or a failed step
        └── DoorLocked       a shopper cannot walk through a fail-safe locked door

:class:`CommandRejected` is not an error of the simulator: a simulator's
``on_command`` raises it to reply ``ok: false``.
"""

from __future__ import annotations

from hub.errors import HubError


class SimulatorError(HubError):
    """A simulator could not do what it was asked (not connected, a payload the codec
    rejects, an unknown event or sequence number, ...)."""


class DoorLocked(SimulatorError):
    """Nobody can walk through the door: it is locked (its fail-safe, the hub being gone)."""


class CommandRejected(Exception):
    """Raised by :meth:`DeviceSimulator.on_command` to reply ``ok: false, error: reason``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
