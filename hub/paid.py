"""The paid registry: which RFID tags (EPCs) a sale has paid for.

A sale (kiosk, store API, cloud order) marks the EPCs of its items paid, with
its sale id; a refund or a void un-marks them, so the tag alarms again at an
exit gate.  Every change is kept in ``paid_history``.

The leaving-tag rule asks :meth:`PaidRegistry.is_paid` for every tag that
leaves, on the event loop, under a 50 ms latency goal, so the answer comes from
an in-memory dictionary mirrored from SQLite at start (it survives restarts).
Changes update memory *before* the write is committed — a shopper who paid
walks out a second later, and the gate must already know — and are rolled back
in memory if the write fails.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from hub.journal import Journal

__all__ = ["EpcError", "PaidMark", "PaidRegistry", "history", "normalise_epc"]

_EPC_RE = re.compile(r"[0-9A-F]{4,124}")
_SPACE_RE = re.compile(r"\s+")


class EpcError(ValueError):
    """Not an EPC as hex (4–124 hex digits)."""


def normalise_epc(epc: str) -> str:
    """Upper-case hex, whitespace removed; :class:`EpcError` if it is not hex."""
    value = _SPACE_RE.sub("", epc).upper()
    if not _EPC_RE.fullmatch(value):
        raise EpcError(f"{epc!r} is not an EPC (4-124 hex digits)")
    return value


@dataclass(frozen=True, slots=True)
class PaidMark:
    epc: str
    sale_id: str
    ts: float


class PaidRegistry:
    def __init__(self, journal: Journal, *, clock: Callable[[], float] = time.time) -> None:
        self._journal = journal
        self._clock = clock
        self._marks: dict[str, PaidMark] = {}
        self._by_sale: dict[str, set[str]] = {}

    # -- reads (memory) ----------------------------------------------------------

    def is_paid(self, epc: str) -> bool:
        marks = self._marks
        return epc in marks or epc.upper() in marks

    def mark(self, epc: str) -> PaidMark | None:
        """The paid mark of an EPC, or ``None`` if it is not paid."""
        return self._marks.get(epc) or self._marks.get(epc.upper())

    def sale(self, sale_id: str) -> list[str]:
        """The EPCs currently marked paid by a sale."""
        return sorted(self._by_sale.get(sale_id, ()))

    def __len__(self) -> int:
        return len(self._marks)

    # -- changes -----------------------------------------------------------------

    async def load(self) -> int:
        """Mirror the ``paid`` table into memory; returns how many EPCs are paid."""
        rows = await self._journal.call(
            lambda c: c.execute("SELECT epc, sale_id, ts FROM paid").fetchall()
        )
        self._marks = {}
        self._by_sale = {}
        for epc, sale_id, ts in rows:
            self._put(PaidMark(epc, sale_id, ts))
        return len(self._marks)

    async def mark_paid(
        self, epcs: Iterable[str], sale_id: str, *, ts: float | None = None
    ) -> list[str]:
        """Mark EPCs paid by ``sale_id``; returns those that were not already paid by it.

        An EPC paid by another sale moves to this one (it was resold after a return).
        :class:`EpcError` for a value that is not an EPC, before anything changes.
        """
        if not sale_id or len(sale_id) > 200:
            raise ValueError("sale_id must be 1-200 characters")
        when = self._clock() if ts is None else ts
        wanted = list(dict.fromkeys(normalise_epc(e) for e in epcs))
        changed = [e for e in wanted if (m := self._marks.get(e)) is None or m.sale_id != sale_id]
        if not changed:
            return []
        before = {e: self._marks.get(e) for e in changed}
        for epc in changed:
            self._put(PaidMark(epc, sale_id, when))
        rows = [(epc, sale_id, when) for epc in changed]

        def write(conn: sqlite3.Connection) -> None:
            conn.executemany(
                "INSERT INTO paid(epc, sale_id, ts) VALUES (?,?,?) ON CONFLICT(epc)"
                " DO UPDATE SET sale_id=excluded.sale_id, ts=excluded.ts",
                rows,
            )
            conn.executemany(
                "INSERT INTO paid_history(ts, epc, sale_id, action) VALUES (?,?,?,'paid')",
                [(when, epc, sale_id) for epc in changed],
            )

        try:
            await self._journal.call(write)
        except BaseException:
            self._restore(before)
            raise
        return changed

    async def unmark(
        self,
        epcs: Iterable[str] | None = None,
        *,
        sale_id: str | None = None,
        reason: str,
    ) -> list[str]:
        """Un-mark EPCs (a refund, a void); returns those that were paid.

        ``epcs`` alone: those EPCs, whatever sale paid them; ``sale_id`` alone: every
        EPC of the sale (a void); both: only those of the EPCs that the sale paid (a
        partial return).
        """
        if epcs is None and sale_id is None:
            raise ValueError("unmark needs EPCs or a sale id")
        if epcs is None:
            candidates = list(self._by_sale.get(sale_id or "", ()))
        else:
            candidates = list(dict.fromkeys(normalise_epc(e) for e in epcs))
        gone = [
            e
            for e in candidates
            if e in self._marks and (sale_id is None or self._marks[e].sale_id == sale_id)
        ]
        if not gone:
            return []
        before = {e: self._marks.get(e) for e in gone}
        for epc in gone:
            self._drop(epc)
        when = self._clock()
        rows = [(when, epc, m.sale_id if m else None, reason) for epc, m in before.items()]

        def write(conn: sqlite3.Connection) -> None:
            conn.executemany("DELETE FROM paid WHERE epc = ?", [(e,) for e in gone])
            conn.executemany(
                "INSERT INTO paid_history(ts, epc, sale_id, action, reason)"
                " VALUES (?,?,?,'unpaid',?)",
                rows,
            )

        try:
            await self._journal.call(write)
        except BaseException:
            self._restore(before)
            raise
        return gone

    # -- memory ------------------------------------------------------------------

    def _put(self, mark: PaidMark) -> None:
        self._drop(mark.epc)
        self._marks[mark.epc] = mark
        self._by_sale.setdefault(mark.sale_id, set()).add(mark.epc)

    def _drop(self, epc: str) -> None:
        old = self._marks.pop(epc, None)
        if old is not None:
            sale = self._by_sale.get(old.sale_id)
            if sale is not None:
                sale.discard(epc)
                if not sale:
                    del self._by_sale[old.sale_id]

    def _restore(self, before: dict[str, PaidMark | None]) -> None:
        for epc, mark in before.items():
            if mark is None:
                self._drop(epc)
            else:
                self._put(mark)


def history(
    db: sqlite3.Connection,
    *,
    epc: str | None = None,
    sale_id: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Paid / unpaid changes, newest first (read-only connection; CLI and API)."""
    where, args = ["1=1"], []
    if epc is not None:
        where.append("epc = ?")
        args.append(normalise_epc(epc))
    if sale_id is not None:
        where.append("sale_id = ?")
        args.append(sale_id)
    cur = db.execute(
        f"SELECT id, ts, epc, sale_id, action, reason FROM paid_history"
        f" WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ?",
        (*args, limit),
    )
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]
