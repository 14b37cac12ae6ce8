"""What the API holds while it runs (owned by the app's lifespan): nothing but its own state.

The hub is already running; the API only reads its database (one read-only
connection in one thread of its own, so a slow query never blocks the event
loop) and writes through the hub's journal (the hub's single SQLite writer).
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import sqlite3
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from hub import auth
from hub.auth import Principal
from hub.db import ThreadedReader
from store_api.metrics import ApiMetrics

if TYPE_CHECKING:
    from hub.hub import Hub

log = logging.getLogger("storehub.api")

T = TypeVar("T")

#: A valid token is remembered this long: a revoked one stops working within it.
TOKEN_CACHE_S = 5.0
#: ``last_used`` of a token is written at most this often.
TOUCH_EVERY_S = 60.0


class ApiState:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.config = hub.config.store.api
        #: Set when the server stops: live streams end so that it can.
        self.closing = asyncio.Event()
        self.metrics = ApiMetrics(hub)
        self._reader = ThreadedReader(hub.db_path, "api-db")
        self._tokens: dict[str, tuple[Principal, float]] = {}  # hash → (who, when checked)
        self._touched: dict[str, float] = {}

    def rule_engine(self) -> Any | None:
        """The running :class:`rules.engine.RuleEngine`, or ``None`` (not installed, not
        started).  Looked up lazily: the rules package is optional and may load after us."""
        try:
            module = importlib.import_module("rules.engine")
        except ModuleNotFoundError as exc:
            if exc.name in ("rules", "rules.engine"):
                return None
            raise
        cls = getattr(module, "RuleEngine", None)
        return self.hub.service(cls) if isinstance(cls, type) else None

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` on the API's read-only connection, off the event loop."""
        return await self._reader.call(fn)

    async def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` in the hub's single writer (its own savepoint)."""
        return await self.hub.journal.call(fn)

    async def authenticate(self, token: str) -> Principal | None:
        key = auth.hash_token(token)
        now = time.monotonic()
        cached = self._tokens.get(key)
        if cached is not None and now - cached[1] < TOKEN_CACHE_S:
            return cached[0]
        principal = await self.read(lambda c: auth.lookup(c, token))
        if principal is None:
            self._tokens.pop(key, None)
            return None
        self._tokens[key] = (principal, now)
        if now - self._touched.get(principal.name, -TOUCH_EVERY_S) >= TOUCH_EVERY_S:
            self._touched[principal.name] = now
            ts = self.hub.clock()
            self.hub.spawn(self.write(lambda c: auth.touch(c, principal.name, ts)), "token-touch")
        return principal

    async def aclose(self) -> None:
        self.closing.set()
        await self._reader.aclose()
