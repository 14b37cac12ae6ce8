"""Health, readiness, status, metrics and the OpenAPI document."""

from __future__ import annotations

import httpx
import pytest

from hub.hub import Hub
from tests.store_api.conftest import Tokens, bearer, raise_alert

pytestmark = pytest.mark.integration


async def test_health_ready_status(hub: Hub, client: httpx.AsyncClient, tokens: Tokens) -> None:
    h = bearer(tokens.hq)
    assert (await client.get("/health")).json() == {"status": "ok"}
    assert (await client.get("/ready", headers=h)).json() == {
        "ready": True,
        "hub_ready": True,
        "mqtt_connected": True,
    }
    status = (await client.get("/status", headers=h)).json()
    assert (
        status["store"] == "s1"
        and status["devices"] == len(hub.config.store.devices)
        and status["mqtt_connected"]
    )

    hub.ready.clear()  # as while the hub (re)connects
    not_ready = await client.get("/ready", headers=h)
    assert not_ready.status_code == 503 and not_ready.json()["hub_ready"] is False
    hub.ready.set()


async def test_metrics_in_prometheus_format(
    hub: Hub, client: httpx.AsyncClient, tokens: Tokens
) -> None:
    await raise_alert(hub, "m1", severity="critical")
    await client.get("/devices", headers=bearer(tokens.staff))
    res = await client.get("/metrics", headers=bearer(tokens.staff))
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/plain")
    text = res.text
    for name in (
        "storehub_events_total",
        "storehub_deadletter_total",
        "storehub_commands_total",
        "storehub_mqtt_reconnects_total",
        "storehub_queue_depth",
        "storehub_alert_changes_total",
        "storehub_api_requests_total",
        "storehub_api_streams",
    ):
        assert f"# TYPE {name.removesuffix('_total')}" in text, name
    assert 'storehub_alerts_total{kind="test",severity="critical"} 1.0' in text
    assert 'storehub_alerts_live{severity="critical",status="open"} 1.0' in text
    assert 'storehub_api_requests_total{method="GET",route="/devices",status="200"} 1.0' in text
    # Every family once: the hub's registry and the API's do not overlap.
    types = [line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")]
    assert len(types) == len(set(types))


async def test_openapi_is_fully_described(client: httpx.AsyncClient) -> None:
    assert (await client.get("/docs")).status_code == 200
    spec = (await client.get("/openapi.json")).json()
    assert spec["info"]["title"].startswith("storehub store API")
    assert {"HTTPBearer", "APIKeyQuery"} <= set(spec["components"]["securitySchemes"])
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            assert op.get("summary") and op.get("description"), (method, path)
            assert op.get("tags"), (method, path)
            ok = {"200", "201", "202", "204"} & set(op["responses"])
            assert ok, (method, path)
    problem = spec["components"]["schemas"]["Problem"]
    assert set(problem["properties"]) == {"detail", "errors"}
