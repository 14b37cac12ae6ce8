"""The journal: the single SQLite writer.

Everything the hub persists goes through one bounded queue to one thread that
commits in batches: while a transaction is being committed, the next batch
piles up, so the batch size follows the load on its own.  After a commit the
acknowledgement callbacks run in order — that is when the hub sends MQTT
PUBACKs, so an event acknowledged to the broker is on disk.

Three kinds of work go in:

- :class:`Entry` — an append to ``journal``, and, when ``stream`` is set, an
  ``outbox`` row in the same transaction (what must reach the cloud later);
- :class:`DeadLetter` — a rejected message;
- an *operation* (:meth:`Journal.call`): any function of the connection, run
  in its own savepoint inside the batch (the registry and alerts use this).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from hub.db import connect_writer

log = logging.getLogger("storehub.journal")

T = TypeVar("T")
Ack = Callable[[], None]


@dataclass(slots=True)
class Entry:
    type: str
    ts: float
    data: str
    device: str | None = None
    name: str | None = None
    seq: int | None = None
    received: float = field(default_factory=time.time)
    #: Outbox stream; ``None`` = nothing for the cloud.
    stream: str | None = None


@dataclass(slots=True)
class DeadLetter:
    topic: str
    reason: str
    detail: str
    payload: bytes
    device: str | None = None
    ts: float = field(default_factory=time.time)

    HEAD = 256


@dataclass(slots=True)
class _Op:
    fn: Callable[[sqlite3.Connection], Any]
    future: asyncio.Future[Any]


def write_entry(conn: sqlite3.Connection, e: Entry) -> int | None:
    """Append ``e`` (and its outbox row) in the caller's transaction; ``None`` if its
    ``(device, seq)`` is already journaled (a redelivery). The writer uses it, and so
    does code that must land a row in the same savepoint as its own (a sale)."""
    cur = conn.execute(
        "INSERT OR IGNORE INTO journal(type, ts, received, device, name, seq, data)"
        " VALUES (?,?,?,?,?,?,?)",
        (e.type, e.ts, e.received, e.device, e.name, e.seq, e.data),
    )
    if cur.rowcount == 0:
        return None
    row_id = cur.lastrowid
    if e.stream is not None:
        conn.execute(
            "INSERT INTO outbox(journal_id, stream, created, data) VALUES (?,?,?,?)",
            (row_id, e.stream, e.received, e.data),
        )
    return row_id


_Item = tuple[Entry | DeadLetter | _Op | None, Ack | None]


class Journal:
    def __init__(
        self,
        path: Path,
        *,
        batch_max: int = 2000,
        queue_max: int = 20_000,
        linger: float = 0.004,
    ) -> None:
        self.path = path
        self.batch_max = batch_max
        self.linger = linger
        self._queue: asyncio.Queue[_Item] = asyncio.Queue(queue_max)
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="journal")
        self._conn: sqlite3.Connection | None = None
        self.committed = 0
        self.batches = 0
        self.duplicates = 0
        self._idle = asyncio.Event()
        self._idle.set()

    # -- producer side -------------------------------------------------------

    async def append(self, entry: Entry, ack: Ack | None = None) -> None:
        self._idle.clear()
        await self._queue.put((entry, ack))

    async def dead_letter(self, item: DeadLetter, ack: Ack | None = None) -> None:
        self._idle.clear()
        await self._queue.put((item, ack))

    async def ack_only(self, ack: Ack) -> None:
        """Acknowledge in order with the rest, writing nothing (a dropped duplicate)."""
        self._idle.clear()
        await self._queue.put((None, ack))

    async def call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(conn)`` in the writer, in the next batch, in its own savepoint."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._idle.clear()
        await self._queue.put((_Op(fn, future), None))
        return await future

    async def flush(self) -> None:
        """Wait until everything queued so far is committed."""
        await self.call(lambda _conn: None)

    @property
    def depth(self) -> int:
        return self._queue.qsize()

    # -- the writer ----------------------------------------------------------

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        self._conn = await loop.run_in_executor(self._executor, connect_writer, self.path)

    async def run(self) -> None:
        """The writer loop; runs until cancelled, then commits what it holds."""
        if self._conn is None:
            await self.open()
        loop = asyncio.get_running_loop()
        try:
            while True:
                batch = [await self._queue.get()]
                if self.linger and self._queue.qsize() < self.batch_max // 8:
                    # A trickle: wait a moment so one commit carries many rows. The
                    # bus already has the events; only the PUBACKs wait this long.
                    await asyncio.sleep(self.linger)
                while len(batch) < self.batch_max and not self._queue.empty():
                    batch.append(self._queue.get_nowait())
                await self._commit_with_retry(loop, batch)
        finally:
            self._drain()

    def _drain(self) -> None:
        """Write what is still queued (on cancel and on close) before letting go."""
        rest: list[_Item] = []
        while not self._queue.empty():
            rest.append(self._queue.get_nowait())
        if rest and self._conn is not None:
            results = self._executor.submit(self._commit, rest).result()
            self._settle(rest, results)

    async def _commit_with_retry(self, loop: asyncio.AbstractEventLoop, batch: list[_Item]) -> None:
        delay = 0.1
        while True:
            future = loop.run_in_executor(self._executor, self._commit, batch)
            try:
                try:
                    results = await asyncio.shield(future)
                except asyncio.CancelledError:
                    # Never leave a transaction half-way: finish it, settle, go.
                    results = await future
                    self._settle(batch, results)
                    raise
            except sqlite3.Error as exc:  # disk full, I/O error: keep the batch, retry
                log.error("journal commit failed, retrying in %.1fs: %s", delay, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            self._settle(batch, results)
            return

    def _settle(self, batch: list[_Item], results: list[Any]) -> None:
        for (item, ack), result in zip(batch, results, strict=True):
            if isinstance(item, _Op):
                if item.future.done():
                    continue
                if isinstance(result, BaseException):
                    item.future.set_exception(result)
                else:
                    item.future.set_result(result)
            if ack is not None:
                try:
                    ack()
                except Exception:  # a lost connection: the broker will redeliver
                    log.debug("ack failed", exc_info=True)
        self.committed += len(batch)
        self.batches += 1
        if self._queue.empty():
            self._idle.set()

    def _commit(self, batch: list[_Item]) -> list[Any]:
        """Runs in the writer thread: one transaction for the whole batch."""
        conn = self._conn
        assert conn is not None
        results: list[Any] = []
        conn.execute("BEGIN IMMEDIATE")
        try:
            for item, _ack in batch:
                if isinstance(item, Entry):
                    results.append(self._write_entry(conn, item))
                elif isinstance(item, DeadLetter):
                    conn.execute(
                        "INSERT INTO deadletter(ts, topic, device, reason, detail, size, head)"
                        " VALUES (?,?,?,?,?,?,?)",
                        (
                            item.ts,
                            item.topic,
                            item.device,
                            item.reason,
                            item.detail,
                            len(item.payload),
                            item.payload[: DeadLetter.HEAD],
                        ),
                    )
                    results.append(None)
                elif isinstance(item, _Op):
                    results.append(self._run_op(conn, item))
                else:
                    results.append(None)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return results

    def _write_entry(self, conn: sqlite3.Connection, e: Entry) -> int | None:
        row_id = write_entry(conn, e)
        if row_id is None:
            self.duplicates += 1
        return row_id

    @staticmethod
    def _run_op(conn: sqlite3.Connection, op: _Op) -> Any:
        conn.execute("SAVEPOINT op")
        try:
            result = op.fn(conn)
        except Exception as exc:  # the op's own error: undo just the op
            conn.execute("ROLLBACK TO op")
            conn.execute("RELEASE op")
            return exc
        conn.execute("RELEASE op")
        return result

    def close(self) -> None:
        self._drain()
        if self._conn is not None:
            conn, self._conn = self._conn, None
            self._executor.submit(conn.close).result()
        self._executor.shutdown(wait=True)
