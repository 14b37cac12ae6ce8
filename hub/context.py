"""What a driver's optional ``run()`` may use of the hub: a narrow seam, not the hub."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pydantic import BaseModel


@dataclass(frozen=True, slots=True)
class DriverContext:
    device: str
    store: str
    #: Put an event produced by the driver itself (e.g. a polled sensor) on the bus.
    emit: Callable[[str, BaseModel], Awaitable[None]]
    log: logging.Logger
