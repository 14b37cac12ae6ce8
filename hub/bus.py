"""In-process event bus: fan-out to bounded per-subscriber queues.

A subscriber is an async iterator.  Publishing waits while a ``block``
subscriber's queue is full, so a slow consumer slows ingest down instead of
growing memory (back-pressure reaches the broker through unacknowledged QoS 1
messages).  A ``drop_oldest`` subscriber (a browser's live stream) never slows
anyone: it loses its oldest items and counts them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Literal

from hub.events import BusEvent

Policy = Literal["block", "drop_oldest"]


class Subscription:
    def __init__(
        self,
        bus: Bus,
        name: str,
        maxsize: int,
        policy: Policy,
        accept: Callable[[BusEvent], bool] | None,
    ) -> None:
        self.name = name
        self.policy = policy
        self.accept = accept
        self.dropped = 0
        self._bus = bus
        self._queue: asyncio.Queue[BusEvent] = asyncio.Queue(maxsize)

    @property
    def depth(self) -> int:
        return self._queue.qsize()

    async def get(self) -> BusEvent:
        return await self._queue.get()

    def get_nowait(self) -> BusEvent | None:
        try:
            return self._queue.get_nowait()
        except asyncio.QueueEmpty:
            return None

    async def _put(self, event: BusEvent) -> None:
        if self.policy == "block":
            await self._queue.put(event)
            return
        while True:
            try:
                self._queue.put_nowait(event)
                return
            except asyncio.QueueFull:
                self._queue.get_nowait()
                self.dropped += 1

    def close(self) -> None:
        self._bus.unsubscribe(self)

    def __aiter__(self) -> AsyncIterator[BusEvent]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[BusEvent]:
        while True:
            yield await self._queue.get()


class Bus:
    def __init__(self) -> None:
        self._subs: list[Subscription] = []
        self.published = 0

    def subscribe(
        self,
        name: str,
        *,
        maxsize: int = 10_000,
        policy: Policy = "block",
        accept: Callable[[BusEvent], bool] | None = None,
    ) -> Subscription:
        sub = Subscription(self, name, maxsize, policy, accept)
        self._subs.append(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        if sub in self._subs:
            self._subs.remove(sub)

    @property
    def subscriptions(self) -> tuple[Subscription, ...]:
        return tuple(self._subs)

    async def publish(self, event: BusEvent) -> None:
        self.published += 1
        for sub in self._subs:
            if sub.accept is None or sub.accept(event):
                # Fast path: no suspension when there is room.
                if sub.policy == "block" and not sub._queue.full():
                    sub._queue.put_nowait(event)
                else:
                    await sub._put(event)
