"""The hub's error tree.

Errors raised by libraries below us (aiomqtt, sqlite3, pydantic, subprocess) are
translated into these at the module boundary, so callers only ever catch ours::

    HubError
    ├── ConfigError            bad or missing configuration (names file and key)
    ├── BrokerError            the managed Mosquitto could not be started or kept up
    │   └── MosquittoNotFound  the mosquitto binary is not installed
    ├── TransportError         the MQTT connection is down or a publish failed
    ├── PayloadError           a device message was rejected (carries a reason code)
    ├── UnknownDevice          a device id that is not in the registry
    └── CommandError           a command could not be built (bad name or arguments)

Bad device input is not an exception that escapes a task: ``PayloadError`` is
caught by the ingest router and turned into a dead-letter row.
"""

from __future__ import annotations


class HubError(Exception):
    """Base class of every error storehub raises on purpose."""


class ConfigError(HubError):
    """The configuration is invalid; the message names the file and the key."""


class BrokerError(HubError):
    """The managed broker could not be started, configured or supervised."""


class MosquittoNotFound(BrokerError):
    """The ``mosquitto`` executable is missing."""


class TransportError(HubError):
    """The MQTT transport is not connected or a publish failed."""


class PayloadError(HubError):
    """A device message was rejected.

    ``reason`` is a short, stable code (``not_json``, ``not_object``, ``invalid``,
    ``too_large``, ``unknown_device``, ``unknown_event``, ``bad_topic``, ...) used
    for counting; ``detail`` is the human explanation.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class UnknownDevice(HubError):
    """No device with this id is configured."""


class CommandError(HubError):
    """A command name or its arguments are not valid for the device's kind."""


def ignore_sigint() -> None:
    """Initializer of worker processes: Ctrl-C is for the hub, which stops its pools."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
