"""Device kinds: one sub-package per kind, discovered at import.

Third-party kinds register a ``Driver`` class under the entry-point group
``storehub.devices``; they are merged with the built-in ones.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from importlib.metadata import entry_points
from typing import Any

from devices.base import DeviceConfig, Driver


@cache
def drivers() -> dict[str, type[Driver[Any]]]:
    """Every known kind → its driver class."""
    found: dict[str, type[Driver[Any]]] = {}
    for info in pkgutil.iter_modules(__path__):
        if not info.ispkg:
            continue
        module = importlib.import_module(f"{__name__}.{info.name}.driver")
        cls = module.Driver
        found[cls.kind] = cls
    for ep in entry_points(group="storehub.devices"):
        cls = ep.load()
        found[cls.kind] = cls
    return found


def config_models() -> tuple[type[DeviceConfig], ...]:
    return tuple(d.config_model for d in drivers().values())
