"""hub.webhooks against a real HTTP server on 127.0.0.1: body, retries, give-up, timeout."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from hub.webhooks import Webhooks


class Server:
    """Answers each request with the next status of :attr:`script` (then 200)."""

    def __init__(self) -> None:
        self.script: list[int] = []
        self.delay = 0.0
        self.requests: list[tuple[str, str, Any, dict[str, str]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("content-length", 0))
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                outer.requests.append(
                    (self.command, self.path, body, {k.lower(): v for k, v in self.headers.items()})
                )
                if outer.delay:
                    time.sleep(outer.delay)
                status = outer.script.pop(0) if outer.script else 200
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            do_POST = do_PUT = do_GET = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server()
    yield s
    s.close()


async def test_posts_json_with_headers(server: Server) -> None:
    hooks = Webhooks(backoff=0.01)
    result = await hooks.call(
        f"{server.url}/alerts", json={"kind": "help", "n": 2}, headers={"x-store": "s1"}
    )
    await hooks.aclose()
    assert result.ok and result.status == 200 and result.attempts == 1
    [(method, path, body, headers)] = server.requests
    assert (method, path, body) == ("POST", "/alerts", {"kind": "help", "n": 2})
    assert headers["x-store"] == "s1" and headers["user-agent"] == "storehub-webhook"


async def test_retries_what_may_pass(server: Server) -> None:
    server.script = [503, 429, 200]
    hooks = Webhooks(backoff=0.01)
    result = await hooks.call(server.url, json={}, retries=3)
    await hooks.aclose()
    assert result.ok and result.attempts == 3 and len(server.requests) == 3


async def test_does_not_retry_a_client_error(server: Server) -> None:
    server.script = [404, 200]
    hooks = Webhooks(backoff=0.01)
    result = await hooks.call(server.url, json={}, retries=3)
    await hooks.aclose()
    assert not result.ok and result.status == 404 and result.attempts == 1
    assert result.error == "HTTP 404" and hooks.failures == 1


async def test_gives_up_after_the_retries(server: Server) -> None:
    server.script = [500, 500, 500]
    hooks = Webhooks(backoff=0.01)
    result = await hooks.call(server.url, json={}, retries=2)
    await hooks.aclose()
    assert not result.ok and result.attempts == 3 and result.status == 500


async def test_times_out_per_attempt(server: Server) -> None:
    server.delay = 0.5
    hooks = Webhooks(backoff=0.01)
    result = await hooks.call(server.url, json={}, timeout=0.1, retries=1)
    await hooks.aclose()
    assert not result.ok and result.attempts == 2 and "Timeout" in (result.error or "")
    assert result.seconds < 0.5 * 2


async def test_unreachable_host_is_a_result_not_an_exception() -> None:
    hooks = Webhooks(backoff=0.01)
    result = await hooks.call(f"http://127.0.0.1:{unused_port()}/", json={}, retries=1)
    await hooks.aclose()
    assert not result.ok and result.status is None and "ConnectError" in (result.error or "")


async def test_only_http_urls() -> None:
    hooks = Webhooks()
    result = await hooks.call("file:///etc/passwd")
    assert not result.ok and "not an http(s) URL" in (result.error or "")


async def test_mock_transport_seam() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201)

    hooks = Webhooks(transport=httpx.MockTransport(handler))
    result = await hooks.call("https://hq.example/hook", method="PUT", json={"a": 1})
    await hooks.aclose()
    assert result.ok and seen[0].method == "PUT" and json.loads(seen[0].content) == {"a": 1}


def unused_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
