"""The ESL routes (store_api/routes/esl.py) on their own app, against a running ESL service."""

from __future__ import annotations

import time

import httpx
import pytest
from fastapi import FastAPI

from hub import auth
from store_api.routes import esl as esl_routes
from store_api.state import ApiState
from tests.conftest import eventually
from tests.hub.esl.conftest import GTINS, EnvFactory

pytestmark = pytest.mark.integration


async def test_hq_pushes_staff_binds_and_flashes(esl_env: EnvFactory) -> None:
    env = await esl_env(3)
    tokens = {
        scope: await env.hub.journal.call(
            lambda c, s=scope: auth.create_token(c, f"t-{s}", [s], now=time.time())
        )
        for scope in ("staff", "hq")
    }
    app = FastAPI()
    app.state.api = ApiState(env.hub)
    app.include_router(esl_routes.router)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub") as c:
        body = {"prices": [{"gtin": GTINS[0], "price": "6.60"}]}
        hq = {"Authorization": f"Bearer {tokens['hq']}", "Idempotency-Key": "api-1"}
        staff = {"Authorization": f"Bearer {tokens['staff']}"}
        assert (await c.post("/esl/batches", json=body, headers=staff)).status_code == 403
        r = await c.post("/esl/batches", json=body, headers=hq)
        assert r.status_code == 202 and r.json()["total"] == 1
        batch_id = r.json()["id"]
        other = {"prices": [{"gtin": GTINS[0], "price": "5.50"}]}
        assert (await c.post("/esl/batches", json=other, headers=hq)).status_code == 409
        bad = {"prices": [{"gtin": "06901234567893", "price": "1.00"}]}
        bad_hq = {**hq, "Idempotency-Key": "api-2"}
        assert (await c.post("/esl/batches", json=bad, headers=bad_hq)).status_code == 422

        async def done() -> bool:
            return bool((await c.get(f"/esl/batches/{batch_id}", headers=staff)).json()["done"])

        await eventually(done)
        label_id = next(iter(env.ap.labels))
        r = await c.get(f"/esl/labels/{label_id}", headers=staff)
        assert r.status_code == 200 and r.json()["history"][0]["action"] == "bind"
        r = await c.post(f"/esl/labels/{label_id}/led", json={"color": "blue"}, headers=staff)
        assert r.status_code == 200 and r.json()["outcome"] == "ok"
        r = await c.delete(f"/esl/labels/{label_id}/binding", headers=staff)
        assert r.status_code == 200 and r.json()["gtin"] is None
        labels = (await c.get("/esl/labels", headers=staff)).json()
        assert len(labels) == 3
