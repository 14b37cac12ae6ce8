"""Built-in plugins a hub runs by default, plus third-party ones.

A plugin is ``async def plugin(hub) -> None``: started in the hub's task group
once the hub is up, cancelled when it stops.  Built-ins are named here by
import path (a missing optional package is skipped); others register under the
entry-point group ``storehub.plugins``.
"""

from __future__ import annotations

import importlib
import logging
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hub.hub import Plugin

log = logging.getLogger("storehub.plugins")

BUILTIN: list[str] = [
    "rules.gate:plugin",  # RFID gates: direction, presence, the leaving-tag rule
    "rules.engine:plugin",  # declarative rules from configs/rules/
    "store_api.server:plugin",  # the store API + staff handheld page
    "hub.esl.service:plugin",  # shelf labels: prices, rendering, AP transport, health
    "hub.sync:plugin",  # cloud sync: outbox upload, inbox pull (off unless [sync] enabled)
    "hub.checkout.service:plugin",  # self-checkout: scanning, pricing, payment, sales
    "vision.plugin:plugin",  # cameras: plates, consenting members' faces, item counts
    "hub.unmanned.service:plugin",  # unmanned checkout (off unless [unmanned] enabled)
]


def _load(path: str) -> Any:
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


def default_plugins() -> list[Plugin]:
    found: list[Plugin] = []
    for path in BUILTIN:
        try:
            found.append(_load(path))
        except ModuleNotFoundError as exc:
            if not path.startswith(exc.name or "\0"):
                raise
            log.debug("plugin %s not installed", path)
    for ep in entry_points(group="storehub.plugins"):
        found.append(ep.load())
    return found
