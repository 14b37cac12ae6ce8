"""The plugin: uvicorn in the hub's task group, no signal handlers, clean stop."""

from __future__ import annotations

import logging
import signal
import socket
from pathlib import Path

import httpx
import pytest

from hub.hub import Hub
from store_api.server import plugin
from tests.conftest import Mosquitto, eventually
from tests.store_api.conftest import Served, free_port, hub_config

pytestmark = pytest.mark.integration


async def test_serves_the_api_and_the_page(served: Served) -> None:
    async with httpx.AsyncClient(base_url=served.url) as client:
        assert (await client.get("/health")).json() == {"status": "ok"}
        page = await client.get("/")
        assert "Store alerts" in page.text
        assert (await client.get("/devices")).status_code == 401
        assert "server" not in (await client.get("/health")).headers


async def test_port_zero_means_no_api(tmp_path: Path, mosquitto: Mosquitto) -> None:
    async with Hub(hub_config(tmp_path, mosquitto, api_port=0), plugins=[]) as hub:
        await plugin(hub)  # returns at once


async def test_busy_port_is_logged_and_the_hub_runs_on(
    tmp_path: Path, mosquitto: Mosquitto, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        cfg = hub_config(tmp_path, mosquitto, api_port=port)
        with caplog.at_level(logging.ERROR, "storehub.api"):
            async with Hub(cfg, plugins=[]) as hub:
                await hub.wait_ready()
                await plugin(hub)
                assert hub.status()["mqtt_connected"]
    assert "cannot listen" in caplog.text


async def test_stops_with_the_hub_and_leaves_signals_alone(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    port = free_port()
    async with Hub(hub_config(tmp_path, mosquitto, api_port=port), plugins=[plugin]) as hub:
        await hub.wait_ready()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:

            async def up() -> bool:
                try:
                    return (await client.get("/health")).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually(up)
        assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
    with socket.socket() as again:  # the port is free once the hub has stopped
        again.bind(("127.0.0.1", port))
