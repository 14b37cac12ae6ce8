"""Marking RFID tags paid through the API, as a POS or a web order would."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from hub.hub import Hub
from rules.gate import plugin as gate_plugin
from rules.gate import service as gate_service
from tests.conftest import Mosquitto, eventually
from tests.paho_device import PahoDevice
from tests.store_api.conftest import Tokens, bearer

pytestmark = pytest.mark.integration
EPC = "3074257BF7194E4000001A85"  # SGTIN: GTIN 80614141123458, serial 6789


async def test_paid_tag_walks_out_silently_and_a_refund_makes_it_alarm(
    hub: Hub, client: httpx.AsyncClient, tokens: Tokens, mosquitto: Mosquitto
) -> None:
    body = {"sale_id": "sale-42", "epcs": [EPC]}
    not_running = await client.post("/paid", json=body, headers=bearer(tokens.staff))
    assert not_running.status_code == 503

    hub.spawn(gate_plugin(hub), "gate")
    await asyncio.wait_for(gate_service(hub).ready.wait(), 10)
    assert (await client.post("/paid", json=body)).status_code == 401
    assert (await client.post("/paid", json=body, headers=bearer(tokens.hq))).status_code == 403
    bad = await client.post(
        "/paid", json={"sale_id": "s", "epcs": ["zz"]}, headers=bearer(tokens.staff)
    )
    assert bad.status_code == 422

    marked = await client.post("/paid", json=body, headers=bearer(tokens.staff))
    assert marked.status_code == 200 and marked.json() == {"changed": [EPC]}
    state = (await client.get(f"/paid/{EPC.lower()}", headers=bearer(tokens.staff))).json()
    assert state["paid"] is True and state["sale_id"] == "sale-42"

    gate = PahoDevice("s1", "gate-out", "rfid_gate", mosquitto.port).start()

    async def walk(gap: float = 0.3) -> None:
        gate.event("reads", reads=[{"epc": EPC, "antenna": 1, "rssi": -50.0, "ts": time.time()}])
        await asyncio.sleep(gap)
        gate.event("reads", reads=[{"epc": EPC, "antenna": 2, "rssi": -52.0, "ts": time.time()}])

    await walk()
    await asyncio.sleep(1.0)
    assert not gate.commands  # paid: no alarm

    refund = await client.post(
        "/paid/unmark", json={"epcs": [EPC], "reason": "refund"}, headers=bearer(tokens.staff)
    )
    assert refund.json() == {"changed": [EPC]}
    await asyncio.sleep(3.5)  # a new passage: the tag comes back in, then leaves again
    await walk(gap=2.5)
    await eventually(lambda: any(c["name"] == "alarm" for c in gate.commands))
    gate.stop()
