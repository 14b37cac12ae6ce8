"""The disk budget of unsent outbox data, and what happens when it fills.

Policy (docs/sync.md "Disk budget"):

- usage = bytes of unsent outbox data + a fixed overhead per row;
- at ``warn_ratio`` (80 %) a ``sync_budget_warning`` alert is raised;
- at 100 % the oldest unsent rows of the *droppable* streams (``traffic``,
  ``device_health`` by default — counts a later summary can replace) are deleted
  oldest first until usage is back to 90 %; every drop is booked per stream,
  raised as ``sync_rows_dropped`` and announced to the cloud by a record on the
  ``sync`` stream, so nothing disappears silently;
- sales (and every stream not named droppable) are never dropped: when they alone
  exceed the budget they are all kept, the hub keeps selling, and a
  ``sync_budget_full`` critical alert asks for the uplink to be fixed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hub.config import SyncConfig
from hub.db import connect_reader
from hub.journal import Journal
from hub.sync import store
from hub.sync.alerting import AlertSink
from hub.sync.metrics import SyncMetrics
from hub.sync.store import Dropped, StreamPending

log = logging.getLogger("storehub.sync.budget")

#: After dropping, usage goes back to this share of the budget (so one drop buys room
#: for a while instead of trimming a row at every check).
DROP_TO = 0.9
#: The warning clears this far below ``warn_ratio`` (no flapping around the line).
HYSTERESIS = 0.1


@dataclass(frozen=True, slots=True)
class BudgetReport:
    pending_bytes: int
    ratio: float
    streams: list[StreamPending]
    dropped: list[Dropped] = field(default_factory=list)


class DiskBudget:
    def __init__(
        self,
        *,
        journal: Journal,
        db_path: Path,
        config: SyncConfig,
        alerts: AlertSink,
        metrics: SyncMetrics,
        clock: Callable[[], float] = time.time,
        inflight: Callable[[], tuple[int, int] | None] = lambda: None,
    ) -> None:
        self.journal = journal
        self.db_path = db_path
        self.config = config
        self.alerts = alerts
        self.metrics = metrics
        self.clock = clock
        self.inflight = inflight
        self.warned = False  # sync_budget_warning is live
        self.full = False  # sync_budget_full is live
        self._seen_streams: set[str] = set()

    async def run(self) -> None:
        while True:
            try:
                await self.check()
            except Exception:  # a failed look must not end the budget's watch
                log.exception("disk budget check failed")
            await asyncio.sleep(self.config.budget_check_s)

    def _summary(self) -> list[StreamPending]:
        conn = connect_reader(self.db_path)
        try:
            return store.pending_summary(conn)
        finally:
            conn.close()

    async def check(self) -> BudgetReport:
        streams = await asyncio.to_thread(self._summary)
        budget = self.config.budget_bytes
        total = sum(s.bytes for s in streams)
        dropped: list[Dropped] = []
        if total >= budget:
            dropped = await self._drop(total - int(budget * DROP_TO))
            if dropped:
                streams = await asyncio.to_thread(self._summary)
                total = sum(s.bytes for s in streams)
        self._export(streams, total)
        ratio = total / budget
        await self._levels(ratio, total, streams)
        return BudgetReport(total, ratio, streams, dropped)

    async def _drop(self, excess: int) -> list[Dropped]:
        now = self.clock()
        names = self.config.droppable_streams
        protect = self.inflight()
        dropped = await self.journal.call(
            lambda c: store.drop_oldest(c, names, excess, protect, now)
        )
        for d in dropped:
            self.metrics.dropped.labels(d.stream).inc(d.rows)
            log.warning(
                "disk budget full: dropped %d unsent %s rows (%d bytes, seq %d..%d)",
                d.rows,
                d.stream,
                d.bytes,
                d.first,
                d.last,
            )
            await self.alerts.raise_(
                "sync_rows_dropped",
                "warning",
                f"outbox over its disk budget: dropped the {d.rows} oldest unsent {d.stream} rows",
                data={
                    "stream": d.stream,
                    "rows": d.rows,
                    "bytes": d.bytes,
                    "first_seq": d.first,
                    "last_seq": d.last,
                },
                key=f"sync_rows_dropped:{d.stream}",
            )
        return dropped

    def _export(self, streams: list[StreamPending], total: int) -> None:
        now = self.clock()
        self.metrics.pending_bytes.set(total)
        self.metrics.budget_ratio.set(total / self.config.budget_bytes)
        current = {s.stream for s in streams}
        for name in self._seen_streams - current:
            self.metrics.pending_rows.labels(name).set(0)
            self.metrics.lag.labels(name).set(0)
        self._seen_streams |= current
        for s in streams:
            self.metrics.pending_rows.labels(s.stream).set(s.rows)
            self.metrics.lag.labels(s.stream).set(max(0.0, now - s.oldest) if s.oldest else 0.0)

    async def _levels(self, ratio: float, total: int, streams: list[StreamPending]) -> None:
        data = {
            "pending_bytes": total,
            "budget_bytes": self.config.budget_bytes,
            "ratio": round(ratio, 3),
            "streams": {s.stream: s.bytes for s in streams},
        }
        if ratio >= self.config.warn_ratio and not self.warned:
            self.warned = True
            await self.alerts.raise_(
                "sync_budget_warning",
                "warning",
                f"outbox at {ratio:.0%} of its disk budget (cloud unreachable?)",
                data=data,
                key="sync_budget_warning",
            )
        if ratio >= 1.0 and not self.full:
            self.full = True
            await self.alerts.raise_(
                "sync_budget_full",
                "critical",
                "unsent sales and other kept streams exceed the outbox disk budget; "
                "all are kept — restore the cloud link",
                data=data,
                key="sync_budget_full",
            )
        if ratio < 1.0 and self.full:
            self.full = False
            await self.alerts.resolve(key="sync_budget_full")
        if ratio < self.config.warn_ratio - HYSTERESIS and self.warned:
            self.warned = False
            await self.alerts.resolve(key="sync_budget_warning")
