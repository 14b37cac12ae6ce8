"""The reference cloud backend: the protocol of docs/sync.md on FastAPI.

POST /v1/stores/{store}/outbox        gzip JSON UploadBatch → acks | 409 gap
GET  /v1/stores/{store}/heads         ?origin= → the stream heads
GET  /v1/stores/{store}/changes       ?after=&limit=&wait= → a page | 304
POST /admin/changes                   publish changes for stores
GET  /admin/records, /admin/stats     what arrived
POST /admin/faults, DELETE /admin/faults   arm / clear failures (see faults.py)
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
import zlib
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp

from hub.sync.protocol import GapResponse, HeadsResponse, UploadBatch, validation_reason
from simulators.cloud.db import CloudStats, CloudStore, PublishChange
from simulators.cloud.faults import Fault, FaultMiddleware, Faults

log = logging.getLogger("storehub.cloud")

#: Largest request body after decompression (a gzip bomb stops here).
MAX_BODY = 32 * 2**20
MAX_WAIT = 60.0


class PublishRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    changes: list[PublishChange] = Field(min_length=1)


Authorization = Annotated[str | None, Header()]


def _store_auth(store: str, request: Request, authorization: Authorization = None) -> str:
    cloud: CloudApp = request.app.state.cloud
    cloud.check_store(store, authorization)
    return store


def _admin_auth(request: Request, authorization: Authorization = None) -> None:
    cloud: CloudApp = request.app.state.cloud
    cloud.check_admin(authorization)


StoreId = Annotated[str, Depends(_store_auth)]
Admin = [Depends(_admin_auth)]


class CloudApp:
    """State of one reference cloud: its database, tokens, armed faults, waiters."""

    def __init__(
        self,
        store: CloudStore,
        *,
        tokens: dict[str, str] | None = None,
        admin_token: str | None = None,
        seed: int | None = None,
    ) -> None:
        self.store = store
        self.tokens = dict(tokens or {})
        self.admin_token = admin_token
        self.faults = Faults(seed)
        self._published = asyncio.Event()
        self.api = self._build()
        self.asgi: ASGIApp = FaultMiddleware(self.api, self.faults)

    # -- auth ------------------------------------------------------------------

    def check_store(self, store: str, authorization: str | None) -> None:
        if not self.tokens:
            return  # open mode (python -m simulators.cloud without --token)
        expected = self.tokens.get(store)
        given = (authorization or "").removeprefix("Bearer ").strip()
        if expected is None or not hmac.compare_digest(given.encode(), expected.encode()):
            raise HTTPException(401, "bad or missing bearer credential for this store")

    def check_admin(self, authorization: str | None) -> None:
        given = (authorization or "").removeprefix("Bearer ").strip()
        if self.admin_token and not hmac.compare_digest(given.encode(), self.admin_token.encode()):
            raise HTTPException(401, "admin credential required")

    # -- routes ----------------------------------------------------------------

    def _build(self) -> FastAPI:
        api = FastAPI(title="storehub reference cloud", version="1")
        api.state.cloud = self

        @api.post("/v1/stores/{store}/outbox")
        async def upload(store: StoreId, request: Request) -> Response:
            try:
                raw = await request.body()
            except ClientDisconnect:  # the store died or gave up mid-request
                return Response(status_code=499)
            if request.headers.get("content-encoding", "").lower() == "gzip":
                raw = _gunzip(raw)
            try:
                batch = UploadBatch.model_validate_json(raw)
            except ValidationError as exc:
                raise HTTPException(422, validation_reason(exc)) from None
            forget = bool(getattr(request.state, "forget", False))
            result = self.store.ingest(store, batch, forget=forget)
            status = 409 if isinstance(result, GapResponse) else 200
            return Response(result.model_dump_json(), status, media_type="application/json")

        @api.get("/v1/stores/{store}/heads")
        async def heads(store: StoreId, origin: str) -> HeadsResponse:
            return HeadsResponse(origin=origin, heads=self.store.heads(store, origin))

        @api.get("/v1/stores/{store}/changes")
        async def changes(
            store: StoreId,
            after: Annotated[int, Query(ge=0)] = 0,
            limit: Annotated[int, Query(ge=1, le=5000)] = 500,
            wait: Annotated[float, Query(ge=0)] = 0.0,
            if_none_match: Annotated[str | None, Header()] = None,
        ) -> Response:
            deadline = time.monotonic() + min(wait, MAX_WAIT)
            while True:
                items, more = self.store.changes(store, after, limit)
                left = deadline - time.monotonic()
                if items or left <= 0:
                    break
                # Woken by a publish through the admin API; the slice also catches
                # changes written to the database by another route (tests).
                self._published.clear()
                try:
                    async with asyncio.timeout(min(left, 0.25)):
                        await self._published.wait()
                except TimeoutError:
                    pass
            cursor = items[-1]["version"] if items else after
            etag = f'"{cursor}"'
            if not items and if_none_match == etag:
                return Response(status_code=304, headers={"ETag": etag})
            return JSONResponse(
                {"changes": items, "cursor": cursor, "more": more}, headers={"ETag": etag}
            )

        @api.post("/admin/changes", dependencies=Admin)
        async def publish(body: PublishRequest) -> dict[str, list[int]]:
            versions = self.store.publish(body.changes)
            self._published.set()
            return {"versions": versions}

        @api.get("/admin/records", dependencies=Admin)
        async def records(
            store: str, stream: str | None = None, after: int = 0, limit: int = 1000
        ) -> list[dict[str, Any]]:
            return self.store.records(store, stream, after=after, limit=limit)

        @api.get("/admin/stats", dependencies=Admin)
        async def stats() -> CloudStats:
            return self.store.stats()

        @api.post("/admin/faults", dependencies=Admin)
        async def arm(fault: Fault) -> dict[str, str]:
            self.faults.add(fault)
            return {"armed": fault.mode}

        @api.delete("/admin/faults", dependencies=Admin)
        async def clear() -> dict[str, int]:
            self.faults.clear()
            return dict(self.faults.fired)

        return api


def _gunzip(body: bytes) -> bytes:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, MAX_BODY)
    except zlib.error as exc:
        raise HTTPException(400, f"bad gzip body: {exc}") from None
    if inflater.unconsumed_tail:
        raise HTTPException(413, f"body larger than {MAX_BODY} bytes once decompressed")
    return out
