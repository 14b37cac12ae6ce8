"""The audit log: every write, allowed or not, with the token's name."""

from __future__ import annotations

import httpx
import pytest

from hub.hub import Hub
from store_api.audit import summarize
from tests.store_api.conftest import Tokens, bearer, raise_alert

pytestmark = pytest.mark.integration


async def test_every_write_is_recorded(hub: Hub, client: httpx.AsyncClient, tokens: Tokens) -> None:
    alert_id = await raise_alert(hub, "audit")
    await client.post(
        f"/alerts/{alert_id}/notes", json={"text": "looking"}, headers=bearer(tokens.staff)
    )
    await client.post(f"/alerts/{alert_id}/ack", headers=bearer(tokens.hq))
    await client.post(f"/alerts/{alert_id}/ack")
    await client.post(
        f"/alerts/{alert_id}/assign", json={"assignee": None}, headers=bearer(tokens.admin)
    )
    await client.get("/alerts", headers=bearer(tokens.admin))  # a read: not audited

    rows = (await client.get("/audit", headers=bearer(tokens.admin))).json()["items"]
    seen = [(r["token"], r["method"], r["path"], r["status"], r["body"]) for r in reversed(rows)]
    assert seen == [
        ("floor-1", "POST", f"/alerts/{alert_id}/notes", 201, '{"text":"looking"}'),
        ("hq-sync", "POST", f"/alerts/{alert_id}/ack", 403, ""),
        (None, "POST", f"/alerts/{alert_id}/ack", 401, ""),
        ("manager", "POST", f"/alerts/{alert_id}/assign", 200, '{"assignee":null}'),
    ]
    assert all(r["client"] == "127.0.0.1" and r["ts"] > 0 for r in rows)
    staff_only = (await client.get("/audit?token=floor-1", headers=bearer(tokens.admin))).json()
    assert [r["token"] for r in staff_only["items"]] == ["floor-1"]
    page = (await client.get("/audit?limit=1", headers=bearer(tokens.admin))).json()
    older = (
        await client.get(f"/audit?limit=10&before_id={page['next']}", headers=bearer(tokens.admin))
    ).json()
    assert len(older["items"]) == 3


def test_body_summary_redacts_secrets_and_stays_short() -> None:
    assert summarize(b"") == ""
    assert (
        summarize(b'{"args": {"password": "p", "seconds": 4}, "Token": "t"}')
        == '{"args":{"password":"***","seconds":4},"Token":"***"}'
    )
    assert summarize(b"not json") == "not json"
    long = summarize(b'{"text": "' + b"x" * 2000 + b'"}')
    assert len(long) == 500 and long.endswith("…")
