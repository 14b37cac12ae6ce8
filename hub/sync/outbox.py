"""Outbox → cloud: batches of unsent outbox rows, one batch in flight at a time.

Guarantees (docs/sync.md "Delivery"):

- **Order per stream.** Rows leave in outbox-id order and a batch is sent only
  after the cloud acknowledged the one before, so row n+1 of a stream is never
  sent before row n was acknowledged.  Each record names its ``prev``; a cloud
  that does not hold ``prev`` answers 409 with its heads and the store realigns
  (re-sends what the cloud lost, e.g. after it answered 200 and then forgot).
- **Exactly once in the cloud.** Every record carries an idempotency key
  ``{store}:{origin}:{seq}``; after a crash, a timeout or a dropped connection
  the same rows go again and the cloud answers ``duplicate``.
- **Crash safety.** Acknowledgements are written through the journal (the single
  writer) together with the ``sent`` mark and the stream head, in one
  transaction: killing the process at any point leaves each row either "not
  acknowledged" (re-sent, deduplicated) or "acknowledged" — never marked sent
  without the cloud's acknowledgement.

Pipelining, while a backlog drains: the next batch is fetched and built while the
current one is in flight, and a batch's acknowledgements are written while the
next one is in flight.  Neither changes what is sent when: the prepared batch is
used only if the current one was acknowledged whole.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from pathlib import Path

from hub.config import SyncConfig
from hub.db import ThreadedReader
from hub.journal import Journal
from hub.sync import store
from hub.sync.adapter import Backoff, CloudAdapter
from hub.sync.alerting import AlertSink
from hub.sync.batches import Prepared, accepted_prefix, build_batch, heads_after
from hub.sync.errors import CloudAuthError, CloudBadBatch, CloudGap, CloudUnavailable
from hub.sync.metrics import SyncMetrics
from hub.sync.protocol import OutgoingBatch, RecordAck, record_key
from hub.sync.store import PendingRow

log = logging.getLogger("storehub.sync.outbox")

Range = tuple[int, int]


class OutboxUploader:
    def __init__(
        self,
        *,
        store_id: str,
        journal: Journal,
        db_path: Path,
        adapter: CloudAdapter,
        config: SyncConfig,
        alerts: AlertSink,
        metrics: SyncMetrics,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self.store_id = store_id
        self.journal = journal
        self.db_path = db_path
        self.adapter = adapter
        self.config = config
        self.alerts = alerts
        self.metrics = metrics
        self.clock = clock
        self.origin = ""
        self.acked = 0
        self.last_error: str | None = None
        self._heads: dict[str, int] = {}  # acknowledged by the cloud (maybe not yet on disk)
        self._backoff = Backoff(config.backoff_min_s, config.backoff_max_s, rng or random.Random())
        self._limit = config.batch_rows  # halves while the cloud refuses a batch as too large
        self._wake = asyncio.Event()
        self._reader = ThreadedReader(db_path, "outbox-read")
        self._last_ok = clock()
        self._offline_raised = False
        self._reconcile_at = 0.0
        self._gaps = 0
        # The pipeline: rows up to _after are acknowledged and being written (_writing).
        self._after = 0
        self._writing: asyncio.Future[None] | None = None
        self._ranges: dict[str, Range] = {}  # writing / sending / prepared
        self._prepared: Prepared | None = None

    @property
    def inflight(self) -> Range | None:
        """Ids from the rows being written to the batch prepared: never dropped by the
        disk budget."""
        if not self._ranges:
            return None
        return min(r[0] for r in self._ranges.values()), max(r[1] for r in self._ranges.values())

    # -- life cycle ------------------------------------------------------------

    async def start(self) -> None:
        """(Re)load the origin and the heads from disk; reset the pipeline."""
        await self.settle()
        state, heads = await self.journal.call(lambda c: (store.get_state(c), store.load_heads(c)))
        self.origin = state["origin"]
        self._heads = heads
        if "last_upload_ok" in state:  # an outage does not restart with the hub
            self._last_ok = float(state["last_upload_ok"])
        self._after = 0
        self._prepared = None
        self._ranges.clear()

    async def aclose(self) -> None:
        await self.settle()
        await self._reader.aclose()

    def push_now(self) -> None:
        """Send what is pending without waiting for the batch age."""
        self._wake.set()

    async def run(self) -> None:
        """Upload forever (the hub's plugin task)."""
        await self.start()
        while True:
            if time.monotonic() >= self._reconcile_at:
                await self.reconcile()
            rows = await self._next_rows()
            if rows:
                await self.attempt(rows)

    async def drain(self) -> int:
        """Upload everything pending, ignoring the batch age and retrying through
        failures; return how many rows were acknowledged.  Bound it with a timeout."""
        await self.start()
        before = self.acked
        while True:
            rows, _ = await self._fetch(self._after)
            if rows:
                await self.attempt(rows)
                continue
            await self.settle()
            if self._after == 0:
                return self.acked - before
            self._after = 0  # one more look from the start of what is unsent

    async def settle(self) -> None:
        """Wait until the acknowledgements received so far are on disk."""
        writing, self._writing = self._writing, None
        if writing is not None:
            try:
                await writing
            finally:
                self._ranges.pop("writing", None)

    # -- batching --------------------------------------------------------------

    async def _fetch(self, after: int) -> tuple[list[PendingRow], bool]:
        limit, max_bytes = self._limit, self.config.batch_bytes
        return await self._reader.call(lambda c: store.fetch_pending(c, limit, max_bytes, after))

    async def _next_rows(self) -> list[PendingRow]:
        """Wait until a batch is due: full, or its oldest row is ``batch_age_s`` old."""
        rows, full = await self._fetch(self._after)
        wait = self.config.poll_s
        if rows:
            age = self.clock() - rows[0].created
            if full or age >= self.config.batch_age_s or self._wake.is_set():
                self._wake.clear()
                return rows
            wait = min(wait, self.config.batch_age_s - age)
        else:
            self._wake.clear()
            await self.settle()
            self._after = 0
        try:
            async with asyncio.timeout(max(wait, 0.001)):
                await self._wake.wait()
        except TimeoutError:
            pass
        return []

    def _batch(self, rows: list[PendingRow]) -> OutgoingBatch:
        prepared, self._prepared = self._prepared, None
        if prepared is not None and prepared.fits(rows, self._heads):
            return prepared.batch
        return build_batch(self.store_id, self.origin, rows, self._heads)

    async def _prepare_next(self, rows: list[PendingRow]) -> None:
        """While ``rows`` fly: fetch and build the batch after them."""
        after = rows[-1].id
        upcoming, full = await self._fetch(after)
        if not full:  # no backlog: the next batch may still grow, build it then
            return
        heads = heads_after(self._heads, rows)
        batch = build_batch(self.store_id, self.origin, upcoming, heads)
        self._prepared = Prepared(upcoming, heads, batch)
        self._ranges["prepared"] = (upcoming[0].id, upcoming[-1].id)

    # -- one attempt -----------------------------------------------------------

    async def attempt(self, rows: list[PendingRow]) -> int:
        """Send ``rows`` once and take in what the cloud acknowledged; on failure wait
        the back-off.  Returns the number of rows acknowledged."""
        self._ranges["sending"] = (rows[0].id, rows[-1].id)
        t0 = time.monotonic()
        batch = self._batch(rows)
        send = asyncio.ensure_future(self.adapter.upload(batch))
        try:
            if len(rows) >= self._limit:
                try:
                    await self._prepare_next(rows)
                except Exception:  # only an optimisation: the next batch is built later
                    log.exception("preparing the next batch failed")
                    self._prepared = None
            try:
                acks = await send
            except CloudGap as gap:
                self.metrics.batches.labels("gap").inc()
                await self._realign(gap.heads, "gap")
                self._gaps += 1
                if self._gaps > 3:  # realigning did not help: do not spin on the cloud
                    await asyncio.sleep(self._backoff.next())
                return 0
            except CloudBadBatch as exc:
                self.metrics.batches.labels("refused").inc()
                if len(rows) > 1:
                    self._limit = max(1, len(rows) // 2)
                    log.warning(
                        "cloud refused a batch of %d (%s); trying %d", len(rows), exc, self._limit
                    )
                    return 0
                key = record_key(self.store_id, self.origin, rows[0].id)
                acks = [RecordAck(key=key, status="rejected", reason=f"refused: {exc}")]
            except CloudUnavailable as exc:
                await self._failed(exc)
                return 0
            self.metrics.upload_seconds.observe(time.monotonic() - t0)
            return await self._take(rows, batch, acks)
        finally:
            if not send.done():  # cancelled while preparing: the upload goes too
                send.cancel()
            self._ranges.pop("sending", None)
            if self._prepared is None:
                self._ranges.pop("prepared", None)

    async def _take(
        self, rows: list[PendingRow], batch: OutgoingBatch, acks: list[RecordAck]
    ) -> int:
        accepted, blocked = accepted_prefix(rows, batch, acks)
        if not accepted:  # a reply without a single usable ack is no progress: back off
            await self._failed(CloudUnavailable("the cloud acknowledged none of the batch"))
            return 0
        now = self.clock()
        for row, _ in accepted:
            self._heads[row.stream] = row.id
        await self.settle()  # one write in flight at a time, in order
        self._ranges["writing"] = (accepted[0][0].id, accepted[-1][0].id)
        self._writing = asyncio.ensure_future(
            self.journal.call(lambda c: store.record_acks(c, accepted, now))
        )
        if blocked:
            log.warning(
                "partial acknowledgement: streams %s wait for the next batch", sorted(blocked)
            )
            await self.settle()
            self._after = 0
        else:
            self._after = rows[-1].id
        await self._succeeded(accepted, now)
        return len(accepted)

    async def _succeeded(self, accepted: list[tuple[PendingRow, RecordAck]], now: float) -> None:
        counts: dict[tuple[str, str], int] = {}
        for row, ack in accepted:
            counts[(row.stream, ack.status)] = counts.get((row.stream, ack.status), 0) + 1
            if ack.status == "rejected":
                await self.alerts.raise_(
                    "sync_record_rejected",
                    "warning",
                    f"the cloud rejected a {row.stream} record: {ack.reason}",
                    data={"stream": row.stream, "seq": row.id, "reason": ack.reason},
                    key=f"sync_record_rejected:{row.stream}",
                )
        for (stream, status), n in counts.items():
            self.metrics.uploaded.labels(stream, status).inc(n)
        self.acked += len(accepted)
        self.metrics.batches.labels("ok").inc()
        self.metrics.last_success.set(now)
        self._backoff.reset()
        self._gaps = 0
        self._limit = min(self.config.batch_rows, self._limit * 2)
        self._last_ok = now
        self.last_error = None
        if self._offline_raised:
            self._offline_raised = False
            await self.alerts.resolve(key="sync_offline")

    async def _failed(self, exc: CloudUnavailable) -> None:
        self.metrics.batches.labels(
            "auth" if isinstance(exc, CloudAuthError) else "unavailable"
        ).inc()
        now = self.clock()
        if str(exc) != self.last_error:
            log.warning("upload failed: %s", exc)
        self.last_error = str(exc)
        await self.journal.call(
            lambda c: store.set_state(c, {"last_error": str(exc), "last_error_at": repr(now)})
        )
        if isinstance(exc, CloudAuthError):
            await self.alerts.raise_(
                "sync_auth",
                "critical",
                "the cloud refuses this store's credential",
                data={"error": str(exc)},
                key="sync_auth",
            )
        if not self._offline_raised and now - self._last_ok > self.config.offline_alert_s:
            self._offline_raised = True
            await self.alerts.raise_(
                "sync_offline",
                "warning",
                f"no upload to the cloud for {(now - self._last_ok) / 60:.0f} min; "
                "the store keeps selling and queues",
                data={"since": self._last_ok, "error": str(exc)},
                key="sync_offline",
            )
        await asyncio.sleep(self._backoff.next())

    # -- heads -----------------------------------------------------------------

    async def reconcile(self) -> None:
        """Compare our stream heads with the cloud's and realign (a cloud that
        acknowledged and then forgot gets the rows again)."""
        try:
            cloud = await self.adapter.heads(self.origin)
        except CloudUnavailable as exc:
            log.debug("reconcile skipped: %s", exc)
            self._reconcile_at = time.monotonic() + min(self.config.reconcile_s, 30.0)
            return
        self._reconcile_at = time.monotonic() + self.config.reconcile_s
        if cloud is None:
            return
        differ = {
            s: cloud.get(s, 0)
            for s in {*cloud, *self._heads}
            if cloud.get(s, 0) != self._heads.get(s, 0)
        }
        if differ:
            await self._realign(differ, "reconcile")

    async def _realign(self, heads: dict[str, int], why: str) -> None:
        await self.settle()
        self._after = 0
        self._prepared = None
        now = self.clock()
        done = await self.journal.call(lambda c: store.realign(c, heads, now))
        for r in done:
            self._heads[r.stream] = r.cloud_head
            log.warning(
                "%s: stream %s realigned to the cloud's head %d (ours %d): %d rows "
                "re-queued, %d already held",
                why,
                r.stream,
                r.cloud_head,
                r.store_head,
                r.rewound,
                r.forwarded,
            )
            data = {
                "stream": r.stream,
                "cloud_head": r.cloud_head,
                "store_head": r.store_head,
                "rows": r.rewound,
            }
            if r.rewound:
                self.metrics.rewound.labels(r.stream).inc(r.rewound)
                await self.alerts.raise_(
                    "sync_cloud_rewind",
                    "warning",
                    f"the cloud lost {r.rewound} acknowledged {r.stream} rows; re-sending",
                    data=data,
                    key=f"sync_cloud_rewind:{r.stream}",
                )
            if r.lost:
                await self.alerts.raise_(
                    "sync_cloud_lost",
                    "critical",
                    f"the cloud lost acknowledged {r.stream} rows older than the store keeps",
                    data=data,
                    key=f"sync_cloud_lost:{r.stream}",
                )
