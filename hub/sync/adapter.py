"""The seam between the sync engine and a cloud: one small protocol.

The engine owns the outbox, ordering, retries, acknowledgements, the inbox
cursor and quarantine; an adapter only speaks the wire.  To plug a specific
commerce backend in, write a class with these four methods that translates its
API and its errors into :mod:`hub.sync.errors` — see docs/sync.md.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from hub.sync.protocol import ChangesPage, OutgoingBatch, RecordAck


@runtime_checkable
class CloudAdapter(Protocol):
    async def upload(self, batch: OutgoingBatch) -> list[RecordAck]:
        """Deliver ``batch``; return one ack per record the cloud took responsibility for.

        Raises :class:`~hub.sync.errors.CloudUnavailable` (retry),
        :class:`~hub.sync.errors.CloudGap` (realign and retry) or
        :class:`~hub.sync.errors.CloudBadBatch` (the batch itself is refused).
        """
        ...

    async def pull(self, cursor: int, *, wait: float) -> ChangesPage:
        """Changes after ``cursor``, waiting up to ``wait`` seconds for one to appear."""
        ...

    async def heads(self, origin: str) -> dict[str, int] | None:
        """The cloud's last accepted ``seq`` per stream of ``origin`` (``None``: cannot tell)."""
        ...

    async def aclose(self) -> None: ...


@dataclass(slots=True)
class Backoff:
    """Capped exponential back-off with jitter.

    "Equal jitter": half of the step is fixed, half random, so a fleet of stores
    coming back after an outage does not retry in lock-step, yet each one's wait
    still grows.
    """

    base: float = 0.5
    cap: float = 60.0
    rng: random.Random = field(default_factory=random.Random)
    attempt: int = 0

    def next(self) -> float:
        step = min(self.cap, self.base * 2 ** min(self.attempt, 32))
        self.attempt += 1
        return float(step / 2 + self.rng.uniform(0, step / 2))

    def reset(self) -> None:
        self.attempt = 0
