"""Rules through the API, against a stand-in engine with the agreed interface."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest

from hub.hub import Hub
from store_api.app import create_app
from tests.conftest import Mosquitto, eventually
from tests.store_api.conftest import Tokens, bearer, hub_config, make_token
from tests.store_api.fake_engine import RuleEngine, install_fake_engine

pytestmark = pytest.mark.integration


@pytest.fixture
def engine(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> RuleEngine:
    return install_fake_engine(hub, monkeypatch)


async def test_list_reload_enable_disable(
    client: httpx.AsyncClient, tokens: Tokens, engine: RuleEngine
) -> None:
    rules = (await client.get("/rules", headers=bearer(tokens.staff))).json()
    assert [r["name"] for r in rules] == ["offline", "help"]
    assert rules[0]["stats"] == {"evaluations": 12, "fires": 2, "errors": 0, "seconds": 0.004}
    assert rules[1]["mode"] == "queued" and rules[1]["trigger"] == "kiosk help"

    admin = bearer(tokens.admin)
    off = await client.post("/rules/help/disable", headers=admin)
    assert off.status_code == 200 and off.json()["enabled"] is False
    assert engine.rules["help"].enabled is False
    on = await client.post("/rules/help/enable", headers=admin)
    assert on.json()["enabled"] is True
    missing = await client.post("/rules/nope/enable", headers=admin)
    assert missing.status_code == 404 and "nope" in missing.json()["detail"]

    ok = await client.post("/rules/reload", headers=admin)
    assert ok.json() == {"ok": True, "rules": 2, "errors": []}
    engine.broken = True
    bad = (await client.post("/rules/reload", headers=admin)).json()
    assert bad["ok"] is False and "unknown field" in bad["errors"][0]
    assert engine.reloads == 2


async def test_503_when_no_engine_runs(
    client: httpx.AsyncClient, tokens: Tokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Whether or not rules.engine exists, this hub (plugins=[]) runs none.
    for path, method in (("/rules", "GET"), ("/rules/reload", "POST"), ("/rules/x/enable", "POST")):
        res = await client.request(method, path, headers=bearer(tokens.admin))
        assert res.status_code == 503 and res.json()["detail"] == "rules engine not running"
    monkeypatch.setitem(sys.modules, "rules.engine", None)  # the module cannot be imported
    res = await client.get("/rules", headers=bearer(tokens.admin))
    assert res.status_code == 503


async def test_with_the_real_engine(tmp_path: Path, mosquitto: Mosquitto) -> None:
    """The same calls against ``rules.engine.RuleEngine`` and the shipped rule files."""
    engine_module = pytest.importorskip("rules.engine", reason="the rules engine is not there")
    async with Hub(hub_config(tmp_path, mosquitto), plugins=[engine_module.plugin]) as hub:
        await hub.wait_ready()
        await eventually(lambda: hub.service(engine_module.RuleEngine) is not None)
        token = bearer(await make_token(hub, "boss", "admin"))
        app = create_app(hub)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub") as c,
        ):
            await eventually(lambda: hub.service(engine_module.RuleEngine).list())  # type: ignore[union-attr]
            rules = (await c.get("/rules", headers=token)).json()
            assert rules and {"name", "file", "enabled", "mode", "trigger", "stats"} <= set(
                rules[0]
            )
            name = rules[0]["name"]
            off = (await c.post(f"/rules/{name}/disable", headers=token)).json()
            assert off["name"] == name and off["enabled"] is False
            on = (await c.post(f"/rules/{name}/enable", headers=token)).json()
            assert on["enabled"] is True
            reloaded = (await c.post("/rules/reload", headers=token)).json()
            assert reloaded == {"ok": True, "rules": len(rules), "errors": []}
            assert (await c.post("/rules/nope/enable", headers=token)).status_code == 404
            text = (await c.get("/metrics", headers=token)).text
            assert f'storehub_rule_evaluations_total{{rule="{name}"}}' in text
