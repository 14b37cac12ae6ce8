"""The review queue: bills staff confirm or correct before they are charged.

A bill goes here when its confidence is below ``review_threshold``, when billing
was suspended (emergency), or when a session timed out with a cart.  A pick one of
several shoppers made, the sensors unable to tell whose, is a review of its own (a
*dispute*): no ``session`` but the ``candidates``, best guess first; staff name the
one who took it, and it is charged to that session (the others' bills never wait
for it).  The
shopper has already left (a review never holds the door); the decision is
charged to the session's payment token afterwards.  Statuses::

    pending ──confirm──▶ charged | payment_failed | cleared (nothing to charge)
            ──correct──▶ charged | payment_failed | cleared
            ──dismiss──▶ dismissed            (nothing is charged)

``bill`` stays what the hub billed; ``final`` is the bill staff settled on.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from hub.unmanned.billing import Bill

Status = Literal[
    "pending", "confirmed", "corrected", "dismissed", "charged", "cleared", "payment_failed"
]


class ReviewError(LookupError):
    """An unknown review, or a decision on one already decided."""


class Correction(BaseModel):
    """What staff say the shopper took: GTIN → units (0 removes a line)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    gtin: str = Field(pattern=r"^\d{8,14}$")
    qty: int = Field(ge=0, le=999)


class Review(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    session: str | None
    created: float
    reason: str
    status: Status
    bill: Bill
    decided_by: str | None = None
    decided_at: float | None = None
    note: str | None = None
    corrected: tuple[Correction, ...] = ()
    #: The bill charged after the decision (the original, or as corrected).
    final: Bill | None = None
    sale_id: str | None = None
    error: str | None = None
    #: A dispute: the sessions one of whom took it (``session`` is set by the decision).
    candidates: tuple[str, ...] = ()

    def summary(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @property
    def asked(self) -> Bill:
        """What it asks the shopper to pay: the bill as decided, else as billed."""
        return self.final or self.bill


def new_review(bill: Bill, reason: str, now: float, *, candidates: tuple[str, ...] = ()) -> Review:
    return Review(
        id="rv-" + uuid.uuid4().hex[:12],
        session=bill.session,
        created=now,
        reason=reason,
        status="pending",
        bill=bill,
        candidates=candidates,
    )


def save(conn: sqlite3.Connection, r: Review) -> None:
    conn.execute(
        "INSERT INTO unmanned_reviews(id, session, created, status, data) VALUES (?,?,?,?,?)"
        " ON CONFLICT(id) DO UPDATE SET session=excluded.session, status=excluded.status,"
        " data=excluded.data",
        (r.id, r.session, r.created, r.status, r.model_dump_json()),
    )


def load(conn: sqlite3.Connection, review_id: str) -> Review | None:
    row = conn.execute("SELECT data FROM unmanned_reviews WHERE id = ?", (review_id,)).fetchone()
    return None if row is None else Review.model_validate_json(row[0])


def of_session(conn: sqlite3.Connection, session: str) -> list[Review]:
    """A session's reviews, oldest first (a dispute once staff charged it to the session)."""
    rows = conn.execute(
        "SELECT data FROM unmanned_reviews WHERE session = ? ORDER BY created", (session,)
    ).fetchall()
    return [Review.model_validate_json(r[0]) for r in rows]


def owed_elsewhere(r: Review, others: list[Review]) -> dict[str, int]:
    """GTIN → units the session of ``r`` is asked to pay on its other reviews that are not
    paid: waiting for staff, or decided and their payment failed. Staff correcting ``r``
    leave these out, or the shopper is charged twice for one item."""
    out: dict[str, int] = {}
    for o in others:
        if o.id == r.id or o.session != r.session or o.status not in ("pending", "payment_failed"):
            continue
        for ln in o.asked.lines:
            out[ln.gtin] = out.get(ln.gtin, 0) + ln.qty
    return out


def listing(conn: sqlite3.Connection, status: str | None = None, limit: int = 200) -> list[Review]:
    if status is None:
        rows = conn.execute(
            "SELECT data FROM unmanned_reviews ORDER BY created DESC LIMIT ?", (limit,)
        ).fetchall()
    else:
        rows = conn.execute(
            "SELECT data FROM unmanned_reviews WHERE status = ? ORDER BY created LIMIT ?",
            (status, limit),
        ).fetchall()
    return [Review.model_validate_json(r[0]) for r in rows]


def disputes_of(conn: sqlite3.Connection, session: str) -> list[Review]:
    """Pending disputes naming ``session`` among their candidates, oldest first."""
    return [r for r in listing(conn, "pending", 10_000) if session in r.candidates]


def counts(conn: sqlite3.Connection) -> dict[str, int]:
    return {
        str(s): int(n)
        for s, n in conn.execute("SELECT status, count(*) FROM unmanned_reviews GROUP BY status")
    }


def corrections_text(items: tuple[Correction, ...]) -> str:
    return json.dumps({c.gtin: c.qty for c in items}, sort_keys=True)
