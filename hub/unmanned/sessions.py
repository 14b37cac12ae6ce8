"""Shopper sessions and their carts.

A session is opened at the entry (app QR token, enrolled face, card on file),
lets ``party`` people in (a family shares one), collects a cart while they shop
(grab-and-go) and ends with a bill at the exit, or times out.  Every line of the
cart keeps its *evidence*: which sensors saw it and how sure they were.

Sessions are kept in memory and written to ``unmanned_sessions`` (JSON) on every
change, so a restarted hub carries on with the shoppers inside.
"""

from __future__ import annotations

import sqlite3
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Via = Literal["qr", "face", "card"]
State = Literal["open", "billing", "closed", "timed_out"]
Source = Literal["weight", "vision", "tracking", "rfid", "staff"]


class Evidence(BaseModel):
    """One sensor's word on a cart line."""

    model_config = ConfigDict(frozen=True)

    source: Source
    device: str
    ts: float
    confidence: float = Field(ge=0, le=1)
    slot: str | None = None
    epc: str | None = None
    #: Shopper tracks standing at the shelf at the time (crowding lowers confidence).
    tracks: tuple[str, ...] = ()
    note: str | None = None


class CartLine(BaseModel):
    gtin: str
    qty: int = Field(ge=0)
    confidence: float = Field(default=1.0, ge=0, le=1)
    epcs: list[str] = Field(default_factory=list)
    evidence: list[Evidence] = Field(default_factory=list)


class ShopperSession(BaseModel):
    id: str
    opened: float
    via: Via
    member: str | None = None
    #: Card-on-file / deduction agreement token charged at the exit (never shown).
    pay_token: str | None = None
    party: int = 1
    tracks: list[str] = Field(default_factory=list)
    entered: int = 0
    exited: int = 0
    state: State = "open"
    cart: dict[str, CartLine] = Field(default_factory=dict)
    #: Set when billing decisions were suspended (emergency) while it was open.
    suspended: bool = False
    closed: float | None = None
    sales: list[str] = Field(default_factory=list)
    reviews: list[str] = Field(default_factory=list)
    #: Why the cart may miss something (an item taken in a crowd may be theirs).
    doubts: list[str] = Field(default_factory=list)
    #: When the exit billed the cart (charged, sent to review, or nothing to bill): a
    #: pick decided after this is billed on its own, through review.
    billed: float | None = None

    @property
    def inside(self) -> int:
        return max(self.entered - self.exited, 0)

    def add(self, gtin: str, qty: int, evidence: Evidence, *, epc: str | None = None) -> None:
        line = self.cart.setdefault(gtin, CartLine(gtin=gtin, qty=0))
        line.qty += qty
        line.confidence = min(line.confidence, evidence.confidence)
        line.evidence.append(evidence)
        if epc is not None and epc not in line.epcs:
            line.epcs.append(epc)

    def remove(self, gtin: str, qty: int, evidence: Evidence) -> int:
        """Take units back (a put-back); returns how many were in the cart to take."""
        line = self.cart.get(gtin)
        if line is None or line.qty == 0:
            return 0
        taken = min(qty, line.qty)
        line.qty -= taken
        line.confidence = min(line.confidence, evidence.confidence)
        line.evidence.append(evidence)
        if line.qty == 0:
            del self.cart[gtin]
        return taken

    def items(self) -> dict[str, int]:
        return {g: ln.qty for g, ln in self.cart.items() if ln.qty > 0}


def new_session_id() -> str:
    return "ss-" + uuid.uuid4().hex[:12]


def save(conn: sqlite3.Connection, s: ShopperSession, now: float) -> None:
    conn.execute(
        "INSERT INTO unmanned_sessions(id, opened, state, member, data, updated)"
        " VALUES (?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET state=excluded.state,"
        " member=excluded.member, data=excluded.data, updated=excluded.updated",
        (s.id, s.opened, s.state, s.member, s.model_dump_json(), now),
    )


def load_open(conn: sqlite3.Connection) -> list[ShopperSession]:
    rows = conn.execute(
        "SELECT data FROM unmanned_sessions WHERE state IN ('open', 'billing') ORDER BY opened"
    ).fetchall()
    return [ShopperSession.model_validate_json(r[0]) for r in rows]


def load_one(conn: sqlite3.Connection, session_id: str) -> ShopperSession | None:
    row = conn.execute("SELECT data FROM unmanned_sessions WHERE id = ?", (session_id,)).fetchone()
    return None if row is None else ShopperSession.model_validate_json(row[0])
