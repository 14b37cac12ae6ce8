"""The HTTPS/JSON adapter of the reference protocol (docs/sync.md), on httpx.

Request bodies are gzip-compressed JSON; every request carries the store's
bearer credential.  httpx errors and HTTP statuses become :mod:`hub.sync.errors`
here and nowhere else.
"""

from __future__ import annotations

import gzip
import logging
from typing import Any, TypeVar

import httpx
from pydantic import ValidationError

from hub.sync.errors import CloudAuthError, CloudBadBatch, CloudGap, CloudUnavailable
from hub.sync.protocol import (
    PROTOCOL_VERSION,
    ChangesPage,
    GapResponse,
    HeadsResponse,
    OutgoingBatch,
    PageError,
    RecordAck,
    parse_acks,
    parse_changes_page,
    validation_reason,
)

log = logging.getLogger("storehub.sync.http")
M = TypeVar("M", GapResponse, HeadsResponse)


class HttpCloudAdapter:
    def __init__(
        self,
        base_url: str,
        store: str,
        token: str,
        *,
        timeout: float = 10.0,
        gzip_level: int = 3,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.store = store
        self.timeout = timeout
        self.gzip_level = gzip_level
        #: Upload bodies so far, before and after compression.
        self.bytes_raw = 0
        self.bytes_sent = 0
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + f"/v1/stores/{store}",
            headers={
                "Authorization": f"Bearer {token}",
                "Storehub-Sync": PROTOCOL_VERSION,
                "User-Agent": "storehub-sync",
            },
            timeout=timeout,
            transport=transport,
        )

    async def __aenter__(self) -> HttpCloudAdapter:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def upload(self, batch: OutgoingBatch) -> list[RecordAck]:
        raw = batch.to_json()
        body = gzip.compress(raw, self.gzip_level)
        self.bytes_raw += len(raw)
        self.bytes_sent += len(body)
        response = await self._request(
            "POST",
            "/outbox",
            content=body,
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
        )
        if response.status_code == 409:
            gap = self._parse(GapResponse, response)
            raise CloudGap(gap.heads)
        self._check(response)
        try:
            return parse_acks(response.content)
        except ValidationError as exc:
            raise CloudUnavailable(
                f"POST /outbox: unreadable reply ({validation_reason(exc)})"
            ) from None

    async def pull(self, cursor: int, *, wait: float) -> ChangesPage:
        # The long poll may hold the request for ``wait`` seconds: the read timeout
        # must outlast it.
        timeout = httpx.Timeout(self.timeout, read=self.timeout + wait)
        response = await self._request(
            "GET",
            "/changes",
            params={"after": cursor, "wait": wait},
            headers={"If-None-Match": f'"{cursor}"'},
            timeout=timeout,
        )
        if response.status_code == 304:
            return ChangesPage(changes=[], cursor=cursor)
        self._check(response)
        try:
            return parse_changes_page(response.content)
        except PageError as exc:
            raise CloudUnavailable(f"GET /changes: {exc}") from None

    async def heads(self, origin: str) -> dict[str, int] | None:
        response = await self._request("GET", "/heads", params={"origin": origin})
        if response.status_code == 404:
            return None  # a backend without reconciliation
        self._check(response)
        return self._parse(HeadsResponse, response).heads

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self._client.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise CloudUnavailable(f"{method} {path}: timed out ({type(exc).__name__})") from None
        except httpx.HTTPError as exc:  # refused, reset, dropped mid-response, TLS, ...
            raise CloudUnavailable(f"{method} {path}: {type(exc).__name__}: {exc}") from None

    @staticmethod
    def _check(response: httpx.Response) -> None:
        status = response.status_code
        if status < 300:
            return
        what = f"{response.request.method} {response.request.url.path}: HTTP {status}"
        detail = response.text[:200]
        if status in (401, 403):
            raise CloudAuthError(f"{what}: credential refused")
        if status in (400, 413, 422):
            raise CloudBadBatch(status, detail)
        raise CloudUnavailable(f"{what} {detail}")

    @staticmethod
    def _parse(model: type[M], response: httpx.Response) -> M:
        try:
            return model.model_validate_json(response.content)
        except ValidationError as exc:
            # A reply we cannot read is as good as no reply: the batch is re-sent
            # and the cloud dedupes it.
            raise CloudUnavailable(
                f"{response.request.url.path}: unreadable reply ({validation_reason(exc)})"
            ) from None
