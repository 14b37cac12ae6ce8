"""Getting images to labels through their access points: queues, capacity, retries.

Per AP one :class:`ApLink` holds

- ``pending``: the next image for each label, newest wins (a label that gets
  two price changes before its AP had room is sent only the second);
- ``inflight``: updates the AP accepted and has not reported on yet; never
  more than the AP's ``capacity``.

One worker per AP sends ``update`` commands of up to ``batch_max`` labels (and
under the 1 MiB topic limit), one command at a time, as capacity frees up.  The
AP's reply says which labels it ``accepted``; their outcomes come later in
``results`` events (:meth:`Transport.on_results`): ``ok`` confirms, ``retry``
and a missing result (after ``result_timeout_s``) are retried with exponential
back-off up to ``max_attempts``, ``failed`` is final (the health check queues
the label again when it next checks in showing the wrong image).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from devices.esl_ap.codec import LabelResult
from hub.events import CommandOutcome

log = logging.getLogger("storehub.esl.transport")

#: What fits in one ``update`` command (the topic limit is 1 MiB; leave room for JSON).
MAX_COMMAND_BYTES = 900_000
Stage = Literal["sent", "confirmed", "failed"]
Send = Callable[[str, list[dict[str, Any]]], Awaitable[CommandOutcome]]
OnOutcome = Callable[["Delivery", Stage, "str | None"], None]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    base_s: float = 1.0
    cap_s: float = 60.0
    max_attempts: int = 6
    #: A capacity rejection is not the label's fault: retried soon, not counted.
    capacity_delay_s: float = 0.2

    def delay(self, attempts: int, rng: random.Random) -> float:
        backoff: float = self.base_s * 2.0 ** max(0, attempts - 1)
        return min(self.cap_s, backoff) * rng.uniform(0.8, 1.2)


@dataclass(slots=True)
class Delivery:
    label: str
    ap: str
    key: str
    hash: str
    #: The ``update`` entry as sent (label, hash, width, height, colors, encoding, image).
    update: dict[str, Any]
    attempts: int = 0
    not_before: float = 0.0
    sent_at: float | None = None

    @property
    def size(self) -> int:
        return len(self.update["image"]) + 200


@dataclass(slots=True)
class ApLink:
    ap: str
    capacity: int
    batch_max: int
    result_timeout_s: float
    pending: OrderedDict[str, Delivery] = field(default_factory=OrderedDict)
    inflight: dict[str, Delivery] = field(default_factory=dict)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    commands: int = 0

    @property
    def free(self) -> int:
        return self.capacity - len(self.inflight)


class Transport:
    def __init__(
        self,
        send: Send,
        on_outcome: OnOutcome,
        *,
        clock: Callable[[], float] = time.time,
        retry: RetryPolicy | None = None,
        seed: int | None = None,
    ) -> None:
        self._send = send
        self._on_outcome = on_outcome
        self._clock = clock
        self.retry = retry or RetryPolicy()
        self._rng = random.Random(seed)
        self.links: dict[str, ApLink] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self.retries = 0

    def add_ap(self, ap: str, *, capacity: int, batch_max: int, result_timeout_s: float) -> None:
        if ap not in self.links:
            self.links[ap] = ApLink(ap, capacity, batch_max, result_timeout_s)

    def pending(self) -> int:
        return sum(len(link.pending) + len(link.inflight) for link in self.links.values())

    def queued_for(self, label: str) -> Delivery | None:
        for link in self.links.values():
            found = link.pending.get(label) or link.inflight.get(label)
            if found is not None:
                return found
        return None

    def submit(self, delivery: Delivery) -> bool:
        """Queue an image for a label (replacing an older queued one); False if that
        exact image is already on its way."""
        link = self.links.get(delivery.ap)
        if link is None:
            raise LookupError(f"no access point {delivery.ap!r}")
        self.cancel(delivery.label, keep_ap=delivery.ap)
        flying = link.inflight.get(delivery.label)
        if flying is not None and flying.hash == delivery.hash:
            link.pending.pop(delivery.label, None)
            return False
        link.pending[delivery.label] = delivery
        link.pending.move_to_end(delivery.label)
        link.wake.set()
        return True

    def cancel(self, label: str, *, keep_ap: str | None = None) -> None:
        """Drop what is queued for ``label`` (on other APs than ``keep_ap``: it moved)."""
        for link in self.links.values():
            if link.ap != keep_ap:
                link.pending.pop(label, None)

    def kick(self) -> None:
        """Re-check every queue now (after a test moves its clock)."""
        for link in self.links.values():
            link.wake.set()

    # -- results ------------------------------------------------------------------------

    def on_results(self, ap: str, results: list[LabelResult]) -> list[LabelResult]:
        """Apply an AP's ``results``; returns those that matched no update in flight."""
        link = self.links.get(ap)
        stray: list[LabelResult] = []
        for r in results:
            d = link.inflight.get(r.label) if link is not None else None
            if link is None or d is None or d.hash != r.hash:
                stray.append(r)
                continue
            del link.inflight[r.label]
            link.wake.set()
            if r.status == "ok":
                self._on_outcome(d, "confirmed", None)
            elif r.status == "retry":
                self._retry(link, d, r.reason or "retry")
            else:
                self._on_outcome(d, "failed", r.reason or "failed")
        return stray

    def _retry(self, link: ApLink, d: Delivery, reason: str) -> None:
        d.attempts += 1
        d.sent_at = None
        if d.attempts >= self.retry.max_attempts:
            self._on_outcome(d, "failed", f"gave up after {d.attempts} attempts: {reason}")
            return
        if d.label in link.pending:  # a newer image is queued already
            return
        self.retries += 1
        d.not_before = self._clock() + self.retry.delay(d.attempts, self._rng)
        link.pending[d.label] = d
        link.wake.set()

    def sweep(self) -> None:
        """Retry updates whose result is overdue."""
        now = self._clock()
        for link in self.links.values():
            late = [
                d
                for d in link.inflight.values()
                if d.sent_at is not None and now - d.sent_at > link.result_timeout_s
            ]
            for d in late:
                del link.inflight[d.label]
                self._retry(link, d, "no_result")

    # -- the workers --------------------------------------------------------------------

    async def run(self, *, sweep_s: float = 1.0) -> None:
        """Serve every AP until cancelled (new APs added later get a worker on the sweep)."""
        try:
            while True:
                for ap, link in self.links.items():
                    if ap not in self._tasks or self._tasks[ap].done():
                        self._tasks[ap] = asyncio.create_task(self._serve(link), name=f"esl:{ap}")
                self.sweep()
                await asyncio.sleep(sweep_s)
        finally:
            for task in self._tasks.values():
                task.cancel()
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    def _ready(self, link: ApLink, now: float) -> list[Delivery]:
        out: list[Delivery] = []
        size = 0
        limit = min(link.free, link.batch_max)
        for d in link.pending.values():
            if len(out) >= limit:
                break
            if d.not_before <= now and size + d.size <= MAX_COMMAND_BYTES:
                out.append(d)
                size += d.size
        return out

    async def _serve(self, link: ApLink) -> None:
        while True:
            batch = self._ready(link, self._clock())
            if not batch:
                waits = [d.not_before for d in link.pending.values()]
                timeout = None
                if waits and link.free > 0:
                    timeout = max(0.01, min(1.0, min(waits) - self._clock()))
                elif link.pending:
                    timeout = 1.0
                link.wake.clear()
                try:
                    async with asyncio.timeout(timeout):
                        await link.wake.wait()
                except TimeoutError:
                    pass
                continue
            try:
                await self._send_batch(link, batch)
            except Exception:  # one bad batch must not stop the AP's queue
                log.exception("sending to %s failed", link.ap)
                for d in batch:
                    link.inflight.pop(d.label, None)
                    self._retry(link, d, "internal")

    async def _send_batch(self, link: ApLink, batch: list[Delivery]) -> None:
        now = self._clock()
        for d in batch:
            del link.pending[d.label]
            d.sent_at = now
            link.inflight[d.label] = d
        link.commands += 1
        outcome = await self._send(link.ap, [d.update for d in batch])
        if not outcome.ok:
            log.info("update to %s: %s (%s)", link.ap, outcome.outcome, outcome.error)
            for d in batch:
                if link.inflight.pop(d.label, None) is not None:
                    self._retry(link, d, outcome.error or outcome.outcome)
            return
        reply = outcome.reply
        rejected = {
            r.get("label"): str(r.get("reason", "rejected"))
            for r in reply.get("rejected", [])
            if isinstance(r, dict)
        }
        accepted = reply.get("accepted")
        accepted_set = set(accepted) if isinstance(accepted, list) else None
        for d in batch:
            if link.inflight.get(d.label) is not d:
                continue  # its result came in before the reply
            if d.label in rejected or (accepted_set is not None and d.label not in accepted_set):
                del link.inflight[d.label]
                reason = rejected.get(d.label, "not accepted")
                if reason == "capacity":
                    d.sent_at = None
                    d.not_before = self._clock() + self.retry.capacity_delay_s
                    link.pending.setdefault(d.label, d)
                else:
                    self._on_outcome(d, "failed", reason)
            else:
                self._on_outcome(d, "sent", None)
