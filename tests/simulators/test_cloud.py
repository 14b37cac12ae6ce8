"""The reference cloud backend over real HTTP: dedupe, stream heads, the changes feed,
auth, and each failure it can be told to commit."""

from __future__ import annotations

import asyncio
import gzip
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from simulators.cloud import CloudServer, free_port
from tests.conftest import REPO

TOKEN = "t-s1"


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[CloudServer]:
    with CloudServer(tmp_path / "cloud.db", tokens={"s1": TOKEN, "s2": "t-s2"}) as server:
        yield server


@pytest.fixture
async def client(cloud: CloudServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=cloud.url, timeout=5, headers={"Authorization": f"Bearer {TOKEN}"}
    ) as c:
        yield c


def batch(*records: tuple[str, int, int], origin: str = "o1", data: Any = None) -> bytes:
    body = {
        "origin": origin,
        "records": [
            {
                "key": f"s1:{origin}:{seq}",
                "stream": stream,
                "seq": seq,
                "prev": prev,
                "created": 1.0,
                "data": data if data is not None else {"seq": seq},
            }
            for stream, seq, prev in records
        ],
    }
    return gzip.compress(json.dumps(body).encode())


async def upload(client: httpx.AsyncClient, body: bytes, store: str = "s1") -> httpx.Response:
    return await client.post(
        f"/v1/stores/{store}/outbox", content=body, headers={"Content-Encoding": "gzip"}
    )


async def test_dedupes_on_the_idempotency_key(
    client: httpx.AsyncClient, cloud: CloudServer
) -> None:
    body = batch(("sales", 1, 0), ("sales", 3, 1), ("traffic", 2, 0))
    first = await upload(client, body)
    assert first.status_code == 200
    assert [a["status"] for a in first.json()["acks"]] == ["stored"] * 3
    again = await upload(client, body)
    assert [a["status"] for a in again.json()["acks"]] == ["duplicate"] * 3
    stats = cloud.store.stats()
    assert (stats.records, stats.duplicates_received, stats.duplicates_applied) == (3, 3, 0)
    heads = await client.get("/v1/stores/s1/heads", params={"origin": "o1"})
    assert heads.json() == {"origin": "o1", "heads": {"sales": 3, "traffic": 2}}


async def test_a_gap_refuses_the_whole_batch_with_the_heads(
    client: httpx.AsyncClient, cloud: CloudServer
) -> None:
    assert (await upload(client, batch(("sales", 1, 0)))).status_code == 200
    gap = await upload(client, batch(("traffic", 2, 0), ("sales", 5, 4)))
    assert gap.status_code == 409
    assert gap.json() == {"error": "gap", "heads": {"sales": 1, "traffic": 0}}
    assert cloud.store.stats().records == 1  # traffic 2 was rolled back with the batch


async def test_bad_requests(client: httpx.AsyncClient) -> None:
    assert (
        await client.post(
            "/v1/stores/s1/outbox",
            content=b"\x1f\x8bnot gzip",
            headers={"Content-Encoding": "gzip"},
        )
    ).status_code == 400
    assert (
        await client.post("/v1/stores/s1/outbox", content=b'{"origin": "o"}')
    ).status_code == 422
    rejected = await upload(client, batch(("sales", 1, 0), data=[1, 2]))
    assert rejected.json()["acks"][0] == {
        "key": "s1:o1:1",
        "status": "rejected",
        "reason": "data is not a JSON object",
    }


async def test_bearer_credential_per_store(client: httpx.AsyncClient, cloud: CloudServer) -> None:
    assert (await upload(client, batch(("sales", 1, 0)), store="s2")).status_code == 401
    async with httpx.AsyncClient(base_url=cloud.url) as anonymous:
        assert (await anonymous.get("/v1/stores/s1/changes")).status_code == 401


async def test_changes_feed_per_store_with_cursor_etag_and_paging(
    client: httpx.AsyncClient,
) -> None:
    r = await client.post(
        "/admin/changes",
        json={
            "changes": [
                {"type": "member", "key": "a", "data": {"name": "A"}},
                {"type": "member", "key": "b", "data": {"name": "B"}, "stores": ["s2"]},
                {
                    "type": "plate",
                    "key": "粤B1",
                    "data": {"member_id": "a"},
                    "stores": ["s1", "s2"],
                },
                {"type": "member", "key": "a", "op": "delete"},
            ]
        },
    )
    assert r.json() == {"versions": [1, 2, 3, 4]}
    page = await client.get("/v1/stores/s1/changes", params={"after": 0, "limit": 2})
    body = page.json()
    assert [c["version"] for c in body["changes"]] == [1, 3] and body["more"] is True
    assert body["cursor"] == 3 and page.headers["etag"] == '"3"'
    rest = (await client.get("/v1/stores/s1/changes", params={"after": 3})).json()
    assert [c["op"] for c in rest["changes"]] == ["delete"] and rest["more"] is False
    unchanged = await client.get(
        "/v1/stores/s1/changes", params={"after": 4}, headers={"If-None-Match": '"4"'}
    )
    assert unchanged.status_code == 304


async def test_long_poll_wakes_on_publish(client: httpx.AsyncClient) -> None:
    async def publish_later() -> None:
        await asyncio.sleep(0.3)
        await client.post("/admin/changes", json={"changes": [{"type": "t", "key": "k"}]})

    t0 = time.monotonic()
    poll = asyncio.create_task(client.get("/v1/stores/s1/changes", params={"wait": 4}))
    await publish_later()
    page = (await poll).json()
    assert [c["version"] for c in page["changes"]] == [1]
    assert time.monotonic() - t0 < 2


@pytest.mark.parametrize("mode", ["error", "slow", "timeout", "drop", "forget"])
async def test_faults(mode: str, client: httpx.AsyncClient, cloud: CloudServer) -> None:
    armed = await client.post("/admin/faults", json={"mode": mode, "delay_s": 0.5})
    assert armed.status_code == 200
    body = batch(("sales", 1, 0))
    t0 = time.monotonic()
    if mode == "error":
        assert (await upload(client, body)).status_code == 503
    elif mode == "slow":
        assert (await upload(client, body)).status_code == 200
        assert time.monotonic() - t0 >= 0.5
    elif mode == "timeout":
        with pytest.raises(httpx.ReadTimeout):
            await client.post(
                "/v1/stores/s1/outbox",
                content=body,
                timeout=0.2,
                headers={"Content-Encoding": "gzip"},
            )
    elif mode == "drop":
        with pytest.raises(httpx.RemoteProtocolError):
            await upload(client, body)
    else:
        assert (await upload(client, body)).json()["acks"][0]["status"] == "stored"
    await asyncio.sleep(0.6 if mode == "timeout" else 0)
    stored = cloud.store.stats().records
    # error and forget keep nothing; the others committed before answering (or not).
    assert stored == (0 if mode in ("error", "forget") else 1)
    cleared = await client.delete("/admin/faults")
    assert cleared.json() == {mode: 1}
    assert (await upload(client, body)).status_code == 200  # back to normal


def test_runs_as_a_module(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "simulators.cloud",
            "--port",
            str(port),
            "--db",
            str(tmp_path / "c.db"),
            "--token",
            "s1=secret",
        ],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                r = httpx.get(
                    f"http://127.0.0.1:{port}/v1/stores/s1/changes",
                    headers={"Authorization": "Bearer secret"},
                )
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline and proc.poll() is None
                time.sleep(0.1)
        assert r.status_code == 200 and r.json() == {"changes": [], "cursor": 0, "more": False}
    finally:
        proc.terminate()
        proc.wait(10)
