"""The store API's vision routes (store_api/routes/vision.py) on a real hub with the
vision plugin: consent, enrolment from posted photos, withdrawal, known plates."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from hub.hub import Hub
from store_api.app import create_app
from store_api.routes import vision as vision_routes
from tests.conftest import Mosquitto, eventually
from tests.store_api.conftest import Tokens, bearer, hub_config, make_token
from tests.vision.conftest import astronaut, coffee, jpeg
from vision.plugin import plugin
from vision.service import VisionService

pytestmark = pytest.mark.integration


@pytest.fixture
async def hub(tmp_path: Path, mosquitto: Mosquitto) -> AsyncIterator[Hub]:
    async with Hub(hub_config(tmp_path, mosquitto), plugins=[plugin]) as h:
        await h.wait_ready(10)
        await eventually(lambda: h.service(VisionService) is not None)
        yield h


@pytest.fixture
async def tokens(hub: Hub) -> Tokens:
    return Tokens(
        staff=await make_token(hub, "floor-1", "staff"),
        hq=await make_token(hub, "hq-sync", "hq"),
        admin=await make_token(hub, "manager", "admin"),
    )


@pytest.fixture
async def client(hub: Hub) -> AsyncIterator[httpx.AsyncClient]:
    app: FastAPI = create_app(hub)
    if not any(getattr(r, "path", "").startswith("/vision") for r in app.routes):
        app.include_router(vision_routes.router)  # until the app includes it itself
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as c:
            yield c


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def test_consent_enrol_withdraw(client: httpx.AsyncClient, tokens: Tokens, hub: Hub) -> None:
    staff = bearer(tokens.staff)
    photo = {"images": [b64(jpeg(astronaut()))]}
    r = await client.post("/vision/faces/m-1", json=photo, headers=staff)
    assert r.status_code == 409  # no consent: the photo is not even looked at

    r = await client.post(
        "/vision/consents",
        headers=staff,
        json={"member": "m-1", "text_version": "face-v1", "channel": "kiosk"},
    )
    assert r.status_code == 201 and r.json()["granted_by"] == "floor-1"

    r = await client.post(
        "/vision/faces/m-1", json={"images": [b64(jpeg(coffee()))]}, headers=staff
    )
    assert r.status_code == 422 and "faces found" in r.json()["detail"]
    r = await client.post("/vision/faces/m-1", json={"images": ["***"]}, headers=staff)
    assert r.status_code == 422
    r = await client.post("/vision/faces/m-1", json=photo, headers=staff)
    assert r.status_code == 201 and r.json() == {"member": "m-1", "embeddings": 1}

    service = hub.service(VisionService)
    assert service is not None and service.faces.enrolled == 1
    r = await client.delete("/vision/consents/m-1", headers=staff)
    assert r.json() == {"member": "m-1", "deleted": 1}
    assert service.faces.enrolled == 0
    [record] = (await client.get("/vision/consents?member=m-1", headers=staff)).json()
    assert record["withdrawn_by"] == "floor-1" and record["text_version"] == "face-v1"


async def test_known_plates_need_admin(client: httpx.AsyncClient, tokens: Tokens) -> None:
    body = {"member": "m-1001", "tier": "vip", "account_manager": "li.wei"}
    r = await client.put("/vision/plates/粤b·12345", json=body, headers=bearer(tokens.staff))
    assert r.status_code == 403
    r = await client.put("/vision/plates/粤b·12345", json=body, headers=bearer(tokens.admin))
    assert r.status_code == 200 and r.json()["plate"] == "粤B12345"
    r = await client.put("/vision/plates/nonsense", json=body, headers=bearer(tokens.admin))
    assert r.status_code == 422
    plates = (await client.get("/vision/plates", headers=bearer(tokens.staff))).json()
    assert [p["plate"] for p in plates] == ["粤B12345"]
    assert (
        await client.delete("/vision/plates/粤B12345", headers=bearer(tokens.admin))
    ).status_code == 204
    assert (
        await client.delete("/vision/plates/粤B12345", headers=bearer(tokens.admin))
    ).status_code == 404
    assert (await client.get("/vision/plates")).status_code == 401
