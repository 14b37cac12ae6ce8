"""A grab-and-go demo store with the real hub and Mosquitto, its devices simulated."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from hub.hub import Hub
from hub.unmanned.config import Model
from hub.unmanned.service import UnmannedService
from simulators.door import DoorSimulator
from simulators.store.play import store_hub
from simulators.store.runner import StoreRun
from simulators.store.shoppers import Knobs
from tests.conftest import Mosquitto


@asynccontextmanager
async def demo_store(
    model: Model, tmp_path: Path, mosquitto: Mosquitto
) -> AsyncIterator[tuple[Hub, StoreRun]]:
    """The model's demo store: the real hub on ``mosquitto``, its devices simulated."""
    async with store_hub(model, tmp_path / "data", broker_url=mosquitto.url) as (hub, make):
        run = make(Knobs(model=model, shoppers=1))
        for sim in run.sims.values():
            await sim.__aenter__()
        svc = hub.service(UnmannedService)
        assert svc is not None
        async with asyncio.timeout(15):
            await svc.ready.wait()
        try:
            yield hub, run
        finally:
            for sim in run.sims.values():
                await sim.__aexit__(None, None, None)


@pytest.fixture
async def store(tmp_path: Path, mosquitto: Mosquitto) -> AsyncIterator[tuple[Hub, StoreRun]]:
    async with demo_store("grab_and_go", tmp_path, mosquitto) as opened:
        yield opened


def svc_of(hub: Hub) -> UnmannedService:
    svc = hub.service(UnmannedService)
    assert svc is not None
    return svc


def opens(door: DoorSimulator) -> list[dict[str, Any]]:
    """The ``open`` commands the hub sent the door."""
    return [c.args for c in door.commands_received if c.name == "open"]
