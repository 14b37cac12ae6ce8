"""The journal, device events and dead letters through the API: filters and cursors."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from hub.hub import Hub
from hub.journal import DeadLetter, Entry
from tests.store_api.conftest import Tokens, bearer

pytestmark = pytest.mark.integration


async def _journal(hub: Hub) -> None:
    """30 rows: events of door-in, door-out and kiosk-1, and a few commands."""
    for i in range(30):
        device = ("door-in", "door-out", "kiosk-1")[i % 3]
        if i % 10 == 9:
            entry = Entry(
                type="command",
                ts=1000.0 + i,
                received=1000.0 + i,
                device=device,
                name="open",
                data=json.dumps({"outcome": "ok"}),
            )
        else:
            name = "scan" if device == "kiosk-1" else "passage"
            entry = Entry(
                type="event",
                ts=1000.0 + i,
                received=1000.0 + i,
                device=device,
                name=name,
                seq=i,
                data=json.dumps({"ts": 1000.0 + i, "seq": i}),
            )
        await hub.journal.append(entry)
    await hub.journal.flush()


async def _all(
    client: httpx.AsyncClient, url: str, token: str, cursor: str
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    next_url = url
    while True:
        page = (await client.get(next_url, headers=bearer(token))).json()
        rows += page["items"]
        if page["next"] is None:
            return rows
        sep = "&" if "?" in url else "?"
        next_url = f"{url}{sep}{cursor}={page['next']}"


async def test_journal_pages_both_ways(hub: Hub, client: httpx.AsyncClient, tokens: Tokens) -> None:
    await _journal(hub)
    newest_first = await _all(client, "/journal?limit=7", tokens.staff, "before_id")
    ids = [r["id"] for r in newest_first]
    assert len(ids) == 30 and ids == sorted(ids, reverse=True)
    oldest_first = await _all(client, "/journal?limit=4&order=asc", tokens.staff, "after_id")
    assert [r["id"] for r in oldest_first] == sorted(ids)
    tail = (await client.get(f"/journal?after_id={ids[3]}", headers=bearer(tokens.hq))).json()
    assert [r["id"] for r in tail["items"]] == sorted(ids[:3])  # after_id alone: oldest first
    window = (
        await client.get(
            f"/journal?after_id={ids[9]}&before_id={ids[5]}", headers=bearer(tokens.hq)
        )
    ).json()
    assert [r["id"] for r in window["items"]] == ids[6:9]


async def test_filters(hub: Hub, client: httpx.AsyncClient, tokens: Tokens) -> None:
    await _journal(hub)
    h = bearer(tokens.staff)
    commands = (await client.get("/journal?type=command", headers=h)).json()["items"]
    assert len(commands) == 3 and all(r["type"] == "command" for r in commands)
    events = (await client.get("/events?limit=100", headers=h)).json()["items"]
    assert len(events) == 27 and all(r["type"] == "event" for r in events)
    doors = (await client.get("/events?kind=door", headers=h)).json()["items"]
    assert {r["device"] for r in doors} == {"door-in", "door-out"} and len(doors) == 18
    scans = (await client.get("/events?name=scan", headers=h)).json()["items"]
    assert {r["device"] for r in scans} == {"kiosk-1"}
    one = (await client.get("/events?device=door-out", headers=h)).json()["items"]
    assert {r["device"] for r in one} == {"door-out"}
    timed = (await client.get("/journal?since=1010&until=1015", headers=h)).json()["items"]
    assert sorted(r["received"] for r in timed) == [1010.0, 1011.0, 1012.0, 1013.0, 1014.0]
    assert timed[0]["data"]["ts"] == 1014.0  # JSON, not a string
    nothing = (await client.get("/events?kind=espresso", headers=h)).json()
    assert nothing == {"items": [], "next": None}
    for bad in (
        "/journal?limit=0",
        "/journal?after_id=-1",
        "/journal?order=up",
        "/journal?since=yesterday",
    ):
        res = await client.get(bad, headers=h)
        assert res.status_code == 422, bad
        assert res.json()["detail"].startswith("query."), res.json()


async def test_page_size_is_capped(hub: Hub, client: httpx.AsyncClient, tokens: Tokens) -> None:
    for i in range(hub.config.store.api.max_page + 10):
        await hub.journal.append(Entry(type="state", ts=float(i), device="door-in", data="{}"))
    await hub.journal.flush()
    page = (await client.get("/journal?limit=100000", headers=bearer(tokens.staff))).json()
    assert len(page["items"]) == 500 and page["next"] is not None


async def test_dead_letters_and_counts(hub: Hub, client: httpx.AsyncClient, tokens: Tokens) -> None:
    for i in range(5):
        await hub.journal.dead_letter(
            DeadLetter(
                topic="store/s1/device/door-in/event/passage",
                reason="not_json" if i < 3 else "invalid",
                detail="bad",
                payload=b"\xffnot json" * 40,
                device="door-in",
            )
        )
    await hub.journal.flush()
    h = bearer(tokens.staff)
    first = (await client.get("/deadletter?limit=2", headers=h)).json()
    assert len(first["items"]) == 2 and first["next"] is not None
    assert first["items"][0]["size"] == 360 and first["items"][0]["head"].startswith("\ufffdnot")
    rest = (await client.get(f"/deadletter?before_id={first['next']}", headers=h)).json()
    assert len(rest["items"]) == 3 and rest["next"] is None
    invalid = (await client.get("/deadletter?reason=invalid", headers=h)).json()["items"]
    assert len(invalid) == 2
    counts = (await client.get("/deadletter/counts", headers=h)).json()
    assert [(c["reason"], c["count"]) for c in counts] == [("not_json", 3), ("invalid", 2)]
