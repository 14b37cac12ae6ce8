"""Commands to one kiosk, in order, one at a time.

``hub.command`` waits for the kiosk's reply (and re-sends within the expiry), so
sending them one after another keeps the screen's story in order: the basket,
then the message about it, then the receipt.  A ``basket`` still queued when a
newer one comes is dropped — only the latest basket is worth showing.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from hub.errors import HubError
from hub.events import CommandOutcome

log = logging.getLogger("storehub.checkout.sender")

Command = Callable[..., Awaitable[CommandOutcome]]


class KioskSender:
    def __init__(self, kiosk: str, command: Command) -> None:
        self.kiosk = kiosk
        self._command = command
        self._queue: deque[tuple[str, dict[str, Any]]] = deque()
        self._wake = asyncio.Event()
        #: The latest outcomes, newest last (tests, diagnostics).
        self.outcomes: deque[CommandOutcome] = deque(maxlen=200)

    def send(self, name: str, args: dict[str, Any]) -> None:
        if name == "basket":
            self._queue = deque(c for c in self._queue if c[0] != "basket")
        self._queue.append((name, args))
        self._wake.set()

    @property
    def queued(self) -> int:
        return len(self._queue)

    async def run(self) -> None:
        while True:
            while not self._queue:
                self._wake.clear()
                await self._wake.wait()
            name, args = self._queue.popleft()
            try:
                outcome = await self._command(self.kiosk, name, **args)
            except HubError as exc:  # a command the codec refuses: a bug here, not the kiosk's
                log.error("kiosk %s: %s not sent: %s", self.kiosk, name, exc)
                continue
            self.outcomes.append(outcome)
            if not outcome.ok:
                log.info("kiosk %s: %s %s (%s)", self.kiosk, name, outcome.outcome, outcome.error)
