"""Failures the reference cloud can be told to commit, for tests and drills.

A pure ASGI middleware in front of the ``/v1`` API.  Each fault matches an
endpoint (``outbox``, ``changes``, ``heads`` or ``any``), fires on the next
``times`` matching requests (``None``: until cleared) with probability ``rate``:

- ``error``   answer ``status`` (503) without doing anything;
- ``slow``    wait ``delay_s``, then serve normally;
- ``timeout`` serve (and commit!), then hold the answer ``delay_s`` — longer than
  the client waits, so it sees a timeout for a batch the cloud has;
- ``drop``    serve (and commit), then cut the connection half-way through the body;
- ``forget``  answer 200 with acks, but roll the batch back (a cloud that loses data).
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections import Counter
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

FaultMode = Literal["error", "slow", "timeout", "drop", "forget"]
Target = Literal["outbox", "changes", "heads", "any"]


class Fault(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: FaultMode
    target: Target = "outbox"
    times: int | None = Field(default=1, ge=1)
    rate: float = Field(default=1.0, gt=0, le=1)
    delay_s: float = Field(default=2.0, ge=0)
    status: int = Field(default=503, ge=400, le=599)


class Faults:
    """The armed faults; thread-safe (tests arm them from outside the server's loop)."""

    def __init__(self, seed: int | None = None) -> None:
        self._armed: list[Fault] = []
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self.fired: Counter[str] = Counter()

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._armed.append(fault.model_copy())

    def clear(self) -> None:
        with self._lock:
            self._armed.clear()

    def take(self, target: str) -> Fault | None:
        with self._lock:
            for fault in self._armed:
                if fault.target not in (target, "any") or self._rng.random() >= fault.rate:
                    continue
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times == 0:
                        self._armed.remove(fault)
                self.fired[fault.mode] += 1
                return fault
        return None


class _Dropped(Exception):
    """Raised after half a body: the server closes the connection mid-response."""


class FaultMiddleware:
    def __init__(self, app: ASGIApp, faults: Faults) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or not path.startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        fault = self.faults.take(path.rstrip("/").rsplit("/", 1)[-1])
        if fault is None:
            await self.app(scope, receive, send)
        elif fault.mode == "error":
            body = b'{"error":"injected"}'
            await send(
                {
                    "type": "http.response.start",
                    "status": fault.status,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
        elif fault.mode == "slow":
            await asyncio.sleep(fault.delay_s)
            await self.app(scope, receive, send)
        elif fault.mode == "timeout":
            held: list[Message] = []

            async def hold(message: Message) -> None:
                held.append(message)

            await self.app(scope, receive, hold)
            await asyncio.sleep(fault.delay_s)
            for message in held:
                await send(message)
        elif fault.mode == "drop":
            await self._drop(scope, receive, send)
        else:  # forget: the route reads the flag and rolls back
            scope.setdefault("state", {})["forget"] = True
            await self.app(scope, receive, send)

    async def _drop(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def cut(message: Message) -> None:
            if message["type"] == "http.response.body":
                body: Any = message.get("body", b"")
                await send(
                    {
                        "type": "http.response.body",
                        "body": body[: len(body) // 2],
                        "more_body": True,
                    }
                )
                raise _Dropped
            await send(message)

        try:
            await self.app(scope, receive, cut)
        except _Dropped:
            # Returning with the body unfinished makes the server close the connection.
            return
