"""The hub's SQLite file: its connections, and migrating it (hub/migrations.py).

One file (``DATA_DIR/hub.db``) in WAL mode.  Exactly one writer thread
(:class:`hub.journal.Journal`) writes; anything else opens read-only
connections, which WAL lets run beside the writer.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from hub.migrations import MIGRATIONS

T = TypeVar("T")


def db_path(data_dir: Path) -> Path:
    return data_dir / "hub.db"


def connect_writer(path: Path) -> sqlite3.Connection:
    """The single writer's connection; migrates the schema."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    # NORMAL is durable across an application crash in WAL mode; only a power
    # loss can lose the last transactions.
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=5000")
    conn.execute("PRAGMA foreign_keys=ON")
    migrate(conn)
    return conn


def migrate(conn: sqlite3.Connection) -> None:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    for i, script in enumerate(MIGRATIONS[version:], start=version):
        # executescript parses the SQL itself (a ';' in a comment is fine); the
        # explicit transaction makes each migration all-or-nothing.
        try:
            conn.executescript(
                f"BEGIN IMMEDIATE;\n{script}\n;PRAGMA user_version={i + 1};\nCOMMIT;"
            )
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise


def connect_reader(path: Path) -> sqlite3.Connection:
    """A read-only connection (the CLI, the API, queries)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout=5000")
    conn.row_factory = sqlite3.Row
    return conn


class ThreadedReader:
    """A read-only connection used off the event loop, always from one thread of its own.

    A task awaiting a query can be cancelled while the query goes on in its thread;
    closing the connection then from another thread crashes the interpreter (SQLite
    frees the statement under the cursor).  Here the close queues behind the query."""

    def __init__(self, path: Path, name: str) -> None:
        self.path = path
        self.name = name
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None

    def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._conn is None:
            self._conn = connect_reader(self.path)
        return fn(self._conn)

    async def call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix=self.name)
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._run, fn)

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    async def aclose(self) -> None:
        """Close after the query in flight (if any) and let the thread go; a later
        :meth:`call` opens both again."""
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.get_running_loop().run_in_executor(executor, self._close)
            executor.shutdown(wait=False)
