"""Which simulator class plays which device kind.

By convention the simulator of kind ``<kind>`` is the :class:`DeviceSimulator`
subclass with ``kind = "<kind>"`` in ``simulators/<kind>.py`` (as the kind's
driver is ``devices/<kind>/``); :func:`register` adds one from elsewhere (a
plugin's). A kind with neither gets the generic :class:`DeviceSimulator`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from devices.base import DeviceConfig
from simulators.base import DeviceSimulator, SimEndpoint

#: Kind → simulator class, registered explicitly (they win over the convention).
SIMULATORS: dict[str, type[DeviceSimulator[Any]]] = {}


def register(cls: type[DeviceSimulator[Any]]) -> type[DeviceSimulator[Any]]:
    """Register a simulator class for its ``kind`` (usable as a class decorator)."""
    if cls.kind is None:
        raise ValueError(f"{cls.__name__} names no kind")
    SIMULATORS[cls.kind] = cls
    return cls


def simulator_class(kind: str) -> type[DeviceSimulator[Any]]:
    """The simulator class of ``kind``: registered, else ``simulators/<kind>.py``'s, else
    the generic one."""
    if kind in SIMULATORS:
        return SIMULATORS[kind]
    name = f"{__package__}.{kind}"
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise  # the module exists but something it imports does not
        return DeviceSimulator
    for value in vars(module).values():
        if isinstance(value, type) and issubclass(value, DeviceSimulator) and value.kind == kind:
            return value
    return DeviceSimulator


def simulator_for(
    device_config: DeviceConfig,
    store: str,
    endpoint: SimEndpoint,
    *,
    seed: int | None = None,
    **kwargs: Any,
) -> DeviceSimulator[Any]:
    """A simulator for one configured device, by its kind (generic for unknown kinds).

    ``kwargs`` go to the simulator (``clock``, ``keepalive``)."""
    cls: Callable[..., DeviceSimulator[Any]] = simulator_class(device_config.kind)
    return cls(device_config, store, endpoint, seed=seed, **kwargs)
