"""HQ price batches: the request (validated at the boundary), the rows it adds, idempotency,
progress.

A batch is identified by its idempotency key: sending the same key again
returns the first batch's progress and changes nothing; the same key with a
different body is a conflict (:class:`IdempotencyConflict`).

Progress is per label: ``scheduled`` (its change takes effect later) →
``queued`` → ``rendered`` → ``sent`` → ``confirmed`` or ``failed``; a label
whose content did not change is ``skipped``.  Counts are cumulative (a
confirmed label was also queued, rendered and sent), so a progress bar is
``(confirmed + failed + skipped) / total``.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from hub.catalog import GtinError, normalise_gtin
from hub.errors import HubError
from hub.esl.prices import PriceRow, PromoRow, Units
from hub.pricing.money import MoneyError, to_minor

State = Literal["scheduled", "queued", "rendered", "sent", "confirmed", "failed", "skipped"]
ORDER: dict[State, int] = {
    "scheduled": 0,
    "queued": 1,
    "rendered": 2,
    "sent": 3,
    "confirmed": 4,
    "failed": 4,
    "skipped": 4,
}
FINAL = frozenset({"confirmed", "failed", "skipped"})
Money = Annotated[str, StringConstraints(pattern=r"^\d{1,9}(\.\d{1,3})?$")]
Scope = Annotated[str, StringConstraints(pattern=r"^(\*|[A-Za-z0-9][A-Za-z0-9_.-]{0,63})$")]


class EslError(HubError):
    """Base of the shelf-label errors the API turns into 4xx answers."""


class IdempotencyConflict(EslError):
    """The idempotency key was used before with a different request body."""


class BadBatch(EslError):
    """A batch names a GTIN that is not one, or an amount the currency cannot hold."""


class _In(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class PriceIn(_In):
    gtin: str = Field(min_length=8, max_length=14, pattern=r"^\d+$")
    price: Money = Field(description='Decimal string in major units, e.g. "12.90"')
    currency: str = Field(default="CNY", pattern=r"^[A-Z]{3}$")
    group: Scope = Field(default="*", description="Store group, or * for all")
    zone: Scope = Field(default="*", description="Zone of the store, or * for all")
    effective: float | None = Field(default=None, description="Epoch s; default: the batch's")
    #: Net content and unit-price basis, e.g. 500 ml priced per L (optional).
    content: str | None = Field(default=None, pattern=r"^\d+(\.\d+)? ?(g|kg|ml|L|pc)$")
    unit_basis: Literal["kg", "100 g", "L", "100 ml", "pc"] | None = None


class PromotionIn(_In):
    gtin: str = Field(min_length=8, max_length=14, pattern=r"^\d+$")
    price: Money
    start: float
    end: float
    text: str | None = Field(default=None, max_length=40)
    group: Scope = "*"
    zone: Scope = "*"


class PriceBatchIn(_In):
    """What HQ sends: ``POST /esl/batches`` (or a file for ``storehub esl push``)."""

    idempotency_key: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description="Also accepted as the Idempotency-Key header (which wins)",
    )
    effective: float | None = Field(default=None, description="Epoch s; default: now")
    prices: list[PriceIn] = Field(default_factory=list, max_length=200_000)
    promotions: list[PromotionIn] = Field(default_factory=list, max_length=200_000)

    def body_hash(self) -> str:
        body = self.model_dump(mode="json", exclude={"idempotency_key"})
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def parse_units(content: str) -> tuple[float, str]:
    """``"500 ml"`` → ``(500.0, "ml")``."""
    num = content.rstrip("gkmlLpc ").strip()
    return float(Decimal(num)), content[len(num) :].strip()


class BatchProgress:
    def __init__(
        self,
        batch_id: str,
        key: str,
        body_hash: str,
        created: float,
        effective: float | None = None,
    ) -> None:
        self.id = batch_id
        self.key = key
        self.body_hash = body_hash
        self.created = created
        self.effective = effective
        self.labels: dict[str, State] = {}
        #: The furthest non-final stage each label reached (so a label that failed
        #: after being sent still counts as rendered and sent).
        self.furthest: dict[str, int] = {}
        self.errors: dict[str, str] = {}
        self.finished: float | None = None
        self.dirty: set[str] = set()

    def set(self, label: str, state: State, error: str | None = None, *, now: float) -> None:
        old = self.labels.get(label)
        if old is not None and old not in FINAL and ORDER[state] < ORDER[old]:
            return  # stages only move forward (a late "sent" after "confirmed", ...)
        if old in FINAL and state not in ("scheduled", "queued"):
            return  # "skipped" after "confirmed": nothing more to do, the label is right
        if old in FINAL or state == "skipped":
            self.furthest[label] = 0  # the label changes again: a new run through the stages
            self.errors.pop(label, None)
        if state not in FINAL:
            self.furthest[label] = max(self.furthest.get(label, 0), ORDER[state])
        elif state == "confirmed":
            self.furthest[label] = ORDER["sent"]
        elif state == "failed" and error:
            self.errors[label] = error
        self.labels[label] = state
        self.dirty.add(label)
        self.finished = now if self.done else None

    @property
    def done(self) -> bool:
        return all(s in FINAL for s in self.labels.values())

    def summary(self) -> dict[str, Any]:
        states = Counter(self.labels.values())
        reached = Counter(self.furthest.values())

        def at_least(order: int) -> int:
            return sum(n for o, n in reached.items() if o >= order)

        return {
            "id": self.id,
            "idempotency_key": self.key,
            "created": self.created,
            "effective": self.effective,
            "total": len(self.labels),
            "scheduled": states["scheduled"],
            "queued": at_least(1),
            "rendered": at_least(2),
            "sent": at_least(3),
            "confirmed": states["confirmed"],
            "failed": states["failed"],
            "skipped": states["skipped"],
            "done": self.done,
            "finished": self.finished,
            "errors": dict(list(self.errors.items())[:50]),
        }

    def take_dirty(self, now: float) -> list[tuple[str, str, str, float, str | None]]:
        rows: list[tuple[str, str, str, float, str | None]] = [
            (self.id, label, self.labels[label], now, self.errors.get(label))
            for label in self.dirty
        ]
        self.dirty.clear()
        return rows


def write_batch(
    conn: sqlite3.Connection, b: BatchProgress, by: str | None, n_prices: int, n_promos: int
) -> None:
    conn.execute(
        "INSERT INTO esl_batches(id, idem_key, request_hash, created, by, effective, prices,"
        " promotions) VALUES (?,?,?,?,?,?,?,?)",
        (b.id, b.key, b.body_hash, b.created, by, b.effective, n_prices, n_promos),
    )


def write_progress(
    conn: sqlite3.Connection,
    rows: list[tuple[str, str, str, float, str | None]],
    summaries: list[BatchProgress],
) -> None:
    conn.executemany(
        "INSERT INTO esl_batch_labels(batch, label, state, updated, error) VALUES (?,?,?,?,?)"
        " ON CONFLICT(batch, label) DO UPDATE SET state=excluded.state,"
        " updated=excluded.updated, error=excluded.error",
        rows,
    )
    conn.executemany(
        "UPDATE esl_batches SET progress = ?, done = ? WHERE id = ?",
        [(json.dumps(b.summary()), b.finished, b.id) for b in summaries],
    )


def load_batches(conn: sqlite3.Connection) -> list[BatchProgress]:
    out: dict[str, BatchProgress] = {}
    for bid, key, body_hash, created, effective, done in conn.execute(
        "SELECT id, idem_key, request_hash, created, effective, done FROM esl_batches"
    ):
        b = out[bid] = BatchProgress(bid, key, body_hash, created, effective)
        b.finished = done
    for bid, label, state, error in conn.execute(
        "SELECT batch, label, state, error FROM esl_batch_labels"
    ):
        found = out.get(bid)
        if found is not None:
            b = found
            b.labels[label] = state
            b.furthest[label] = 0 if state == "skipped" else min(3, ORDER[state])
            if error:
                b.errors[label] = error
    for b in out.values():
        b.dirty.clear()
    return list(out.values())


def batch_rows(
    batch: PriceBatchIn, batch_id: str, effective: float, currency_of: Callable[[str], str]
) -> tuple[list[PriceRow], list[PromoRow], Units]:
    """The rows a batch adds: shelf prices (``effective`` where a price has none),
    promotions (in the currency ``currency_of(gtin)`` says the item is sold in) and unit
    pricing (:data:`Units`). :class:`BadBatch` names the first bad entry."""
    prices: list[PriceRow] = []
    promos: list[PromoRow] = []
    units: Units = {}
    try:
        for i, p in enumerate(batch.prices):
            where = f"prices[{i}]"
            gtin = normalise_gtin(p.gtin)
            prices.append(
                PriceRow(
                    gtin,
                    to_minor(p.price, p.currency),
                    p.currency,
                    p.effective if p.effective is not None else effective,
                    p.group,
                    p.zone,
                    batch_id,
                )
            )
            if p.content and p.unit_basis:
                qty, unit = parse_units(p.content)
                units[gtin] = (qty, unit, p.unit_basis)
        for i, q in enumerate(batch.promotions):
            where = f"promotions[{i}]"
            gtin = normalise_gtin(q.gtin)
            if q.end <= q.start:
                raise BadBatch(f"{where}: end must be after start")
            currency = currency_of(gtin)
            promos.append(
                PromoRow(
                    gtin,
                    to_minor(q.price, currency),
                    q.start,
                    q.end,
                    q.text,
                    q.group,
                    q.zone,
                    batch_id,
                )
            )
    except (GtinError, MoneyError) as exc:
        raise BadBatch(f"{where}: {exc}") from None
    return prices, promos, units
