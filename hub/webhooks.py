"""Outgoing HTTP webhooks: what a rule's ``webhook`` action calls (httpx, async).

A call is retried with exponential back-off on what may pass (a connection
error, a timeout, HTTP 429 or 5xx) and never on what will not (any other 4xx).
It never raises for the remote side's failure: the outcome is a
:class:`WebhookResult` value, so a rule counts an error and the hub carries on.
Only ``http``/``https`` URLs are allowed.

The seam for tests is httpx's own: pass ``transport=httpx.MockTransport(fn)``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict

log = logging.getLogger("storehub.webhooks")

#: Statuses worth another try: the server may be busy or restarting.
RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})


class WebhookResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    url: str
    ok: bool
    status: int | None = None
    attempts: int
    error: str | None = None
    seconds: float


class Webhooks:
    def __init__(
        self,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        backoff: float = 0.5,
        max_backoff: float = 10.0,
        concurrency: int = 16,
    ) -> None:
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self.backoff = backoff
        self.max_backoff = max_backoff
        # A burst of rules firing must not open hundreds of sockets at once.
        self._slots = asyncio.Semaphore(concurrency)
        self.calls = 0
        self.failures = 0

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                transport=self._transport,
                follow_redirects=False,
                headers={"user-agent": "storehub-webhook"},
            )
        return self._client

    async def call(
        self,
        url: str,
        *,
        method: str = "POST",
        json: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float = 5.0,
        retries: int = 3,
    ) -> WebhookResult:
        """Send one request, retrying up to ``retries`` more times; ``timeout`` is per attempt."""
        started = time.monotonic()
        scheme = httpx.URL(url).scheme if "://" in url else ""
        if scheme not in ("http", "https"):
            return self._done(url, started, 0, None, f"not an http(s) URL: {url!r}")
        attempts, status, error = 0, None, None
        async with self._slots:
            for attempt in range(retries + 1):
                if attempt:
                    await asyncio.sleep(min(self.backoff * 2 ** (attempt - 1), self.max_backoff))
                attempts += 1
                try:
                    response = await self._http().request(
                        method, url, json=json, headers=headers, timeout=timeout
                    )
                except httpx.HTTPError as exc:  # connect/read errors and timeouts
                    status, error = None, f"{type(exc).__name__}: {exc}"
                    continue
                status = response.status_code
                if response.is_success:
                    return self._done(url, started, attempts, status, None)
                error = f"HTTP {status}"
                if status not in RETRYABLE:
                    break
        return self._done(url, started, attempts, status, error)

    def _done(
        self, url: str, started: float, attempts: int, status: int | None, error: str | None
    ) -> WebhookResult:
        self.calls += 1
        if error is not None:
            self.failures += 1
            log.warning("webhook %s failed after %d attempt(s): %s", url, attempts, error)
        return WebhookResult(
            url=url,
            ok=error is None,
            status=status,
            attempts=attempts,
            error=error,
            seconds=time.monotonic() - started,
        )

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()
