"""A real hub with the ESL plugin, a real Mosquitto and a simulated access point."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from devices.esl_ap.config import EslApConfig
from hub.catalog import Item
from hub.config import EnvSettings, load_config
from hub.esl.labels import Binding
from hub.esl.service import EslService
from hub.esl.settings import EslSettings
from hub.hub import Hub
from simulators.base import SimEndpoint
from simulators.esl_ap import EslApSimulator
from tests.conftest import Mosquitto, eventually

GTINS = ["06901234567892", "06901234567809", "06901234567816"]


class Clock:
    """Real time plus an offset tests move forward (commands keep valid expiries)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@dataclass
class Env:
    hub: Hub
    esl: EslService
    ap: EslApSimulator
    clock: Clock
    mosquitto: Mosquitto

    async def settle(self, timeout: float = 20.0) -> None:
        """Wait until every bound label shows what it should."""

        def done() -> bool:
            bound = [lb for lb in self.esl.labels if lb.gtin]
            return (
                bool(bound)
                and all(
                    lb.desired_hash
                    and self.ap.labels[lb.id].hash == lb.desired_hash == lb.confirmed_hash
                    for lb in bound
                )
                and not self.esl.transport.pending()
            )

        await self.esl.idle()
        await eventually(done, timeout=timeout)

    async def batch_done(self, batch_id: str, timeout: float = 20.0) -> dict[str, Any]:
        await eventually(lambda: (self.esl.progress(batch_id) or {}).get("done"), timeout=timeout)
        progress = self.esl.progress(batch_id)
        assert progress is not None
        return progress


def store_toml(path: Path, capacity: int = 500, batch_max: int = 100) -> Path:
    path.write_text(
        f'[[devices]]\nid = "ap-1"\nkind = "esl_ap"\nzone = "grocery"\n'
        f"capacity = {capacity}\nbatch_max = {batch_max}\nresult_timeout_s = 5\n"
    )
    return path


EnvFactory = Callable[..., Any]


@pytest.fixture
async def esl_env(tmp_path: Path, mosquitto: Mosquitto) -> AsyncIterator[EnvFactory]:
    """``await make(labels=20, ...)`` → a running :class:`Env` (labels checked in, bound)."""
    stack: list[Any] = []

    async def make(
        labels: int = 12,
        *,
        capacity: int = 500,
        batch_max: int = 100,
        radio_failure: float = 0.0,
        settings: dict[str, Any] | None = None,
        bind: bool = True,
        **sim: Any,
    ) -> Env:
        clock = Clock()
        cfg = load_config(
            EnvSettings(
                config=store_toml(tmp_path / "store.toml", capacity, batch_max),
                data_dir=tmp_path / "data",
                broker_url=mosquitto.url,
                api_port=0,
            )
        )
        opts = {
            "render_workers": 0,
            "retry_base_s": 0.05,
            "retry_cap_s": 0.2,
            "health_check_s": 3600,
            "audit_s": 3600,
            "tick_s": 0.05,
            "flush_s": 0.1,
            **(settings or {}),
        }
        holder: dict[str, EslService] = {}

        async def plugin(hub: Hub) -> None:
            holder["esl"] = service = EslService(hub, EslSettings(**opts))
            hub.provide(service)
            await service.run()

        hub = Hub(cfg, plugins=[plugin], clock=clock)
        await hub.__aenter__()
        stack.append(hub)
        await hub.wait_ready(10)
        await eventually(lambda: "esl" in holder and holder["esl"].ready.is_set())
        esl = holder["esl"]
        await esl.catalog.upsert(
            [Item(gtin=g, name=f"商品 {i} Item {i}", price=1000 + i) for i, g in enumerate(GTINS)]
        )
        dev = cfg.store.devices[0]
        assert isinstance(dev, EslApConfig)
        ap = EslApSimulator(
            dev,
            "s1",
            SimEndpoint("127.0.0.1", mosquitto.port),
            seed=7,
            radio_failure=radio_failure,
            airtime_s=0.01,
            **sim,
        )
        await ap.connect()
        stack.insert(0, ap)
        ap.add_labels(labels, interval_s=3600)
        await ap.checkin()
        await eventually(lambda: len(esl.labels) == labels)
        env = Env(hub, esl, ap, clock, mosquitto)
        if bind:
            for i, label_id in enumerate(ap.labels):
                await esl.bind(Binding(label=label_id, gtin=GTINS[i % len(GTINS)]))
            await env.settle()
        return env

    yield make
    for thing in stack:
        if isinstance(thing, Hub):
            await thing.__aexit__(None, None, None)
        else:
            await thing.close()
    await asyncio.sleep(0)
