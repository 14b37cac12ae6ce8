"""Inbox ← cloud: pull what HQ published and apply it in version order.

- The cursor (the last version handled) lives in ``sync_state`` and moves in the
  same transaction as the changes it covers: a crash re-pulls, never skips.
- Each change runs its type's applier in a savepoint: it applies whole, or is
  rolled back and **quarantined** (``sync_quarantine``, with the reason), raised
  as a ``sync_inbox_quarantine`` alert and counted — and the feed moves on, so
  one bad price cannot hold every later change hostage.
- A version at or below the cursor is skipped: re-delivery is harmless.
- :meth:`Inbox.retry_quarantined` runs quarantined changes again (hub/sync/quarantine.py).

Appliers are pluggable per change type: :func:`register_applier` (process-wide
default) or :meth:`Inbox.register_applier` (this inbox).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from hub.config import SyncConfig
from hub.journal import Journal
from hub.sync import store
from hub.sync.adapter import Backoff, CloudAdapter
from hub.sync.alerting import AlertSink
from hub.sync.appliers import Applier, builtin_appliers
from hub.sync.errors import CloudUnavailable, CloudUnsupported
from hub.sync.metrics import SyncMetrics
from hub.sync.protocol import Change, ChangesPage, InvalidChange
from hub.sync.quarantine import (
    Quarantined,
    Retried,
    log_change,
    put_aside,
    remaining,
    retry,
    run_applier,
)

log = logging.getLogger("storehub.sync.inbox")

_DEFAULTS: dict[str, Applier] = builtin_appliers()

AfterApply = Callable[[list[Change]], Awaitable[None]]


def register_applier(type_: str, fn: Applier) -> None:
    """Make ``fn`` the applier of change type ``type_`` for every inbox created after."""
    _DEFAULTS[type_] = fn


@dataclass(slots=True)
class Applied:
    cursor: int
    applied: list[Change] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)
    skipped: int = 0


def apply_page(
    conn: sqlite3.Connection,
    items: Sequence[Change | InvalidChange],
    page_cursor: int,
    appliers: dict[str, Applier],
    now: float,
) -> Applied:
    """Runs in the writer: apply in version order, quarantine failures, move the cursor."""
    cursor = int(store.get_state(conn).get("inbox_cursor", "0"))
    result = Applied(cursor)
    for item in sorted(items, key=lambda c: c.version):
        if item.version <= cursor:
            result.skipped += 1
            continue
        reason: str | None = None
        if isinstance(item, InvalidChange):
            reason = item.reason
        elif (fn := appliers.get(item.type)) is None:
            reason = f"no applier for change type {item.type!r}"
        else:
            # A disk error raises here: the whole page is retried, nothing quarantined.
            reason = run_applier(conn, fn, item)
        op = item.op if isinstance(item, Change) else "?"
        if reason is None:
            assert isinstance(item, Change)
            result.applied.append(item)
        else:
            raw = item.raw if isinstance(item, InvalidChange) else item.model_dump(mode="json")
            q = Quarantined(item.version, item.type, item.key, reason)
            put_aside(conn, q, raw, now)
            result.quarantined.append(q)
        status = "applied" if reason is None else "quarantined"
        log_change(conn, item.version, item.type, item.key, op, status, now)
        cursor = item.version
    # The cloud may have skipped versions that are not for this store: its cursor
    # can be ahead of the last change it sent.
    cursor = max(cursor, page_cursor)
    store.set_state(conn, {"inbox_cursor": str(cursor), "last_pull_ok": repr(now)})
    result.cursor = cursor
    return result


class Inbox:
    def __init__(
        self,
        *,
        journal: Journal,
        adapter: CloudAdapter | None,
        config: SyncConfig,
        alerts: AlertSink,
        metrics: SyncMetrics,
        clock: Callable[[], float] = time.time,
        appliers: dict[str, Applier] | None = None,
    ) -> None:
        self.journal = journal
        self.adapter = adapter
        self.config = config
        self.alerts = alerts
        self.metrics = metrics
        self.clock = clock
        self.appliers: dict[str, Applier] = dict(_DEFAULTS if appliers is None else appliers)
        self.cursor = 0
        self._after: dict[str, list[AfterApply]] = {}
        self._started = False

    def register_applier(self, type_: str, fn: Applier) -> None:
        self.appliers[type_] = fn

    def on_applied(self, type_: str, callback: AfterApply) -> None:
        """Call ``callback(changes)`` after a page with changes of ``type_`` committed
        (e.g. the catalog reloads its in-memory view)."""
        self._after.setdefault(type_, []).append(callback)

    async def start(self) -> None:
        if not self._started:
            state = await self.journal.call(store.get_state)
            self.cursor = int(state.get("inbox_cursor", "0"))
            self.metrics.inbox_version.set(self.cursor)
            self._started = True

    async def run(self) -> None:
        await self.start()
        if self.adapter is None:
            return
        backoff = Backoff(self.config.backoff_min_s, self.config.backoff_max_s)
        while True:
            t0 = time.monotonic()
            try:
                page = await self._pull(wait=self.config.pull_wait_s)
            except CloudUnsupported:
                log.info("this cloud adapter does not pull: inbox off")
                return
            except CloudUnavailable as exc:
                self.metrics.pull_errors.inc()
                log.warning("inbox pull failed: %s", exc)
                await asyncio.sleep(backoff.next())
                continue
            backoff.reset()
            try:
                await self.apply(page)
            except Exception:  # the disk, not the changes: the cursor did not move, retry
                log.exception("applying an inbox page failed")
                await asyncio.sleep(backoff.next())
                continue
            quick = time.monotonic() - t0 < self.config.pull_wait_s / 2
            if not page.more and not page.changes and not page.invalid and quick:
                # No long poll on the other side (or wait=0): poll at the interval.
                await asyncio.sleep(self.config.pull_interval_s)

    async def pull_once(self, *, wait: float = 0.0) -> Applied:
        """Pull one page and apply it (tests, ``storehub sync`` tools)."""
        await self.start()
        return await self.apply(await self._pull(wait=wait))

    async def _pull(self, *, wait: float) -> ChangesPage:
        if self.adapter is None:  # an inbox of a tool that only retries the quarantine
            raise CloudUnsupported("this inbox has no cloud to pull from")
        return await self.adapter.pull(self.cursor, wait=wait)

    async def apply(self, page: ChangesPage) -> Applied:
        await self.start()
        items: list[Change | InvalidChange] = [*page.changes, *page.invalid]
        appliers = dict(self.appliers)
        now = self.clock()
        result = await self.journal.call(lambda c: apply_page(c, items, page.cursor, appliers, now))
        self.cursor = result.cursor
        self.metrics.inbox_version.set(result.cursor)
        for change in result.applied:
            self.metrics.inbox_applied.labels(change.type).inc()
        for q in result.quarantined:
            self.metrics.inbox_quarantined.labels(q.type).inc()
            log.warning(
                "inbox change %d (%s %s) quarantined: %s", q.version, q.type, q.key, q.reason
            )
            await self.alerts.raise_(
                "sync_inbox_quarantine",
                "warning",
                f"a published {q.type} change was refused: {q.reason}",
                data={"version": q.version, "type": q.type, "key": q.key, "reason": q.reason},
                key=f"sync_inbox_quarantine:{q.type}",
            )
        await self._after_apply(result.applied)
        return result

    async def retry_quarantined(self, version: int | None = None) -> list[Retried]:
        """Run the quarantined changes (all, oldest first, or only ``version``) again.

        One that applies now leaves quarantine (``sync_inbox``: applied) and fires its
        :meth:`on_applied` hooks; one still refused stays, with the new reason; one that
        a later applied version of the same type and key superseded is dropped
        (``sync_inbox``: superseded).  The cursor does not move."""
        appliers = dict(self.appliers)
        now = self.clock()

        def op(conn: sqlite3.Connection) -> tuple[list[Retried], set[str]]:
            return retry(conn, version, appliers, now), remaining(conn)

        results, left = await self.journal.call(op)
        applied = [r.change for r in results if r.outcome == "applied" and r.change is not None]
        for r in results:
            log.info(
                "quarantined inbox change %d (%s %s): %s%s",
                r.version,
                r.type,
                r.key,
                r.outcome,
                f" ({r.reason})" if r.reason else "",
            )
            if r.outcome == "applied":
                self.metrics.inbox_applied.labels(r.type).inc()
        for type_ in {r.type for r in results} - left:
            await self.alerts.resolve(key=f"sync_inbox_quarantine:{type_}")
        await self._after_apply(applied)
        return results

    async def _after_apply(self, applied: Sequence[Change]) -> None:
        by_type: dict[str, list[Change]] = {}
        for change in applied:
            by_type.setdefault(change.type, []).append(change)
        for type_, changes in by_type.items():
            for callback in self._after.get(type_, []):
                try:
                    await callback(changes)
                except Exception:  # the data is committed; a stale cache is not fatal
                    log.exception("after-apply hook of %s failed", type_)
