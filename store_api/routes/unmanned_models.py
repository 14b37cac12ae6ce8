"""The unmanned checkout API's request and response models (store_api/routes/unmanned.py).

A session's payment token is never part of an answer: no model here has a field for it.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from hub.catalog import GtinError, normalise_gtin
from hub.unmanned import review as rv
from hub.unmanned import sessions as ss
from hub.unmanned.config import Model
from store_api.models import In, Out


class EvidenceOut(Out):
    """One sensor's word on a line (or a staff member's: `source` = staff)."""

    source: ss.Source
    device: str
    ts: float
    confidence: float
    slot: str | None = None
    epc: str | None = None
    tracks: list[str] = Field(description="Shopper tracks at the shelf then (crowding)")
    note: str | None = None


class CartLineOut(Out):
    gtin: str
    qty: int
    confidence: float = Field(description="0–1: how sure the sensors are of this line")


class CartLineDetail(CartLineOut):
    epcs: list[str]
    evidence: list[EvidenceOut]


class _SessionBase(Out):
    id: str
    opened: float
    via: ss.Via = Field(description="How it was opened: app QR, enrolled face, card on file")
    member: str | None
    party: int = Field(description="People it lets in")
    entered: int
    exited: int
    inside: int
    state: ss.State
    suspended: bool = Field(description="Billing was suspended by an emergency while open")
    paying: bool = Field(description="A payment token is on file (the token is never shown)")


class SessionOut(_SessionBase):
    cart: list[CartLineOut]


class SessionDetail(_SessionBase):
    closed: float | None
    tracks: list[str]
    sales: list[str]
    reviews: list[str]
    cart: list[CartLineDetail]


class BillLineOut(Out):
    gtin: str
    name: str
    qty: int
    unit_price: int = Field(description="Minor units (fen)")
    amount: int = Field(description="Minor units, after promotions")
    confidence: float
    epcs: list[str]
    evidence: list[EvidenceOut]


class BillOut(Out):
    session: str | None
    device: str | None
    ts: float
    currency: str
    lines: list[BillLineOut]
    total: int = Field(description="Minor units")
    confidence: float = Field(description="Its least sure line")
    reasons: list[str] = Field(description="Why it is unsure")
    member: str | None


class LineIn(In):
    gtin: str = Field(description="GTIN-8/12/13/14", examples=["6901234567892"])
    qty: int = Field(ge=0, le=999, description="The units the shopper took; 0 removes the line")

    @field_validator("gtin")
    @classmethod
    def _gtin(cls, gtin: str) -> str:
        try:
            return normalise_gtin(gtin)
        except GtinError as exc:
            raise ValueError(str(exc)) from None


class CorrectionOut(Out):
    gtin: str
    qty: int


class OtherReviewOut(Out):
    id: str
    status: rv.Status
    reason: str
    lines: list[CorrectionOut] = Field(description="What it asks: as decided, else as billed")


class ReviewOut(Out):
    id: str
    session: str | None
    created: float
    reason: str
    status: rv.Status
    bill: BillOut = Field(description="The bill as the sensors made it")
    decided_by: str | None = None
    decided_at: float | None = None
    note: str | None = None
    corrected: list[CorrectionOut] = Field(description="Staff's quantities, when corrected")
    sale_id: str | None = None
    charged: int | None = Field(default=None, description="What the sale charged (minor units)")
    error: str | None = None
    candidates: list[str] = Field(
        description="A dispute (a pick the sensors could not tell whose): the sessions one of"
        " whom took it, the hub's best guess first; `session` is the one staff named"
    )
    also: list[OtherReviewOut] = Field(
        default_factory=list,
        description="The session's other reviews, oldest first (a dispute charged to it, a"
        " bill whose payment failed): what a pending or failed one asks is owed there already,"
        " not to be added here",
    )


class ReviewList(Out):
    items: list[ReviewOut]
    more: bool = Field(description="More matched than `limit`")


class UnmannedOut(Out):
    model: Model
    emergency: bool = Field(description="Exits open without billing; bills are reviewed later")
    sessions: int = Field(description="Open sessions")
    inside: int = Field(description="People inside, by their sessions")
    reviews: dict[rv.Status, int] = Field(description="Reviews by status")


class LetOutOut(Out):
    session: str
    review: ReviewOut | None = Field(description="The unpaid bill, queued for review")


TAKER = Field(
    default=None,
    description="For a dispute (`candidates`): the session that took it, charged for it",
    examples=["ss-8c1d2e3f4a5b"],
)


class ConfirmIn(In):
    note: str | None = Field(default=None, max_length=2000)
    session: str | None = TAKER


class CorrectIn(In):
    lines: list[LineIn] = Field(
        min_length=1,
        max_length=200,
        description="The corrected quantity of each item that differs; items not listed "
        "stay as billed",
    )
    note: str | None = Field(default=None, max_length=2000, examples=["two teas, not three"])
    session: str | None = TAKER
    keep_rest: bool = Field(
        default=False,
        description="For a dispute: what this does not charge stays in the queue as a new"
        " dispute (another candidate took the rest)",
    )

    @field_validator("lines")
    @classmethod
    def _once_each(cls, lines: list[LineIn]) -> list[LineIn]:
        seen: set[str] = set()
        for line in lines:
            if line.gtin in seen:
                raise ValueError(f"gtin {line.gtin} is given twice")
            seen.add(line.gtin)
        return lines


class DismissIn(In):
    note: str = Field(
        min_length=1, max_length=2000, description="Why nothing is charged", examples=["test"]
    )
