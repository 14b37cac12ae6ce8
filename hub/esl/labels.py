"""The label database: one row per label (binding, health, what it shows), in memory
for the hot paths and in ``esl_labels`` on disk; bindings keep their history in
``esl_bindings``.

What a label shows is tracked as three hashes:

- ``desired``: the image the hub wants on it (content key + image hash);
- ``confirmed``: the last image its AP reported ``ok`` for;
- ``shown``: what the label itself said on its last check-in.

A label is *converged* when all three agree.  Writes are batched: changes mark
a label dirty and :meth:`Labels.flush` writes all dirty rows in one statement
(10,000 labels converging must not be 10,000 transactions).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from devices.esl_ap.codec import Colors, LabelId
from hub.esl.content import PanelKey, Template


@dataclass(slots=True)
class Label:
    id: str
    updated: float
    ap: str | None = None
    gtin: str | None = None
    template: str = "standard"
    panel: str | None = None
    colors: str | None = None
    zone: str | None = None
    bound: float | None = None
    battery_mv: int | None = None
    rssi: float | None = None
    lqi: int | None = None
    temp_c: float | None = None
    fw: str | None = None
    last_seen: float | None = None
    interval_s: float | None = None
    next_checkin: float | None = None
    shown_hash: str | None = None
    confirmed_hash: str | None = None
    confirmed_key: str | None = None
    shown_price: int | None = None
    shown_currency: str | None = None
    desired_hash: str | None = None
    desired_key: str | None = None
    attempts: int = 0
    failures: int = 0
    last_error: str | None = None

    @property
    def converged(self) -> bool:
        return self.desired_hash is not None and (
            self.desired_hash == self.confirmed_hash == (self.shown_hash or self.confirmed_hash)
        )

    def summary(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)} | {"converged": self.converged}


_COLUMNS = [f.name for f in fields(Label)]


class Binding(BaseModel):
    """Bind a label to an item (staff, API)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    label: LabelId
    gtin: str = Field(pattern=r"^\d{8}$|^\d{12,14}$")
    template: Template = "standard"
    panel: PanelKey | None = Field(default=None, description="Default: what the label reports")
    colors: Colors | None = None
    zone: str | None = Field(default=None, description="Price zone; default: its AP's zone")
    ap: str | None = Field(default=None, description="Default: the AP it checks in through")


class BindingEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    label: str
    action: Literal["bind", "unbind"]
    gtin: str | None
    template: str | None
    panel: str | None
    colors: str | None
    zone: str | None
    ts: float
    by: str | None


class Labels:
    def __init__(self) -> None:
        self._labels: dict[str, Label] = {}
        self._by_gtin: dict[str, set[str]] = {}
        self._dirty: set[str] = set()

    def __len__(self) -> int:
        return len(self._labels)

    def __iter__(self) -> Iterator[Label]:
        return iter(self._labels.values())

    def get(self, label_id: str) -> Label | None:
        return self._labels.get(label_id)

    def ensure(self, label_id: str, now: float) -> Label:
        label = self._labels.get(label_id)
        if label is None:
            label = self._labels[label_id] = Label(id=label_id, updated=now)
            self._dirty.add(label_id)
        return label

    def for_gtin(self, gtin: str) -> list[Label]:
        return [self._labels[i] for i in self._by_gtin.get(gtin, ())]

    def touch(self, label: Label, now: float) -> None:
        label.updated = now
        self._dirty.add(label.id)

    def bind(self, b: Binding, gtin14: str, now: float) -> Label:
        label = self.ensure(b.label, now)
        if label.gtin is not None:
            self._by_gtin.get(label.gtin, set()).discard(label.id)
        label.gtin, label.template, label.bound = gtin14, b.template, now
        label.panel = b.panel or label.panel
        label.colors = b.colors or label.colors
        label.zone = b.zone if b.zone is not None else label.zone
        label.ap = b.ap or label.ap
        label.desired_key = label.desired_hash = None  # re-rendered for the new item
        label.attempts = 0
        self._by_gtin.setdefault(gtin14, set()).add(label.id)
        self.touch(label, now)
        return label

    def unbind(self, label: Label, now: float) -> None:
        if label.gtin is not None:
            self._by_gtin.get(label.gtin, set()).discard(label.id)
        label.gtin = label.desired_key = label.desired_hash = None
        label.bound = None
        self.touch(label, now)

    # -- persistence -----------------------------------------------------------------

    def load(self, conn: sqlite3.Connection) -> None:
        cols = ", ".join(_COLUMNS)
        for row in conn.execute(f"SELECT {cols} FROM esl_labels"):
            label = Label(**dict(zip(_COLUMNS, row, strict=True)))
            self._labels[label.id] = label
            if label.gtin:
                self._by_gtin.setdefault(label.gtin, set()).add(label.id)

    def take_dirty(self) -> list[tuple[Any, ...]]:
        rows = [
            tuple(getattr(self._labels[i], c) for c in _COLUMNS)
            for i in self._dirty
            if i in self._labels
        ]
        self._dirty.clear()
        return rows

    @staticmethod
    def write(conn: sqlite3.Connection, rows: Iterable[tuple[Any, ...]]) -> None:
        cols = ", ".join(_COLUMNS)
        marks = ",".join("?" * len(_COLUMNS))
        updates = ", ".join(f"{c}=excluded.{c}" for c in _COLUMNS if c != "id")
        conn.executemany(
            f"INSERT INTO esl_labels({cols}) VALUES ({marks}) ON CONFLICT(id) DO UPDATE SET"
            f" {updates}",
            list(rows),
        )


def write_binding(conn: sqlite3.Connection, e: BindingEvent) -> None:
    conn.execute(
        "INSERT INTO esl_bindings(label, action, gtin, template, panel, colors, zone, ts, by)"
        " VALUES (?,?,?,?,?,?,?,?,?)",
        (e.label, e.action, e.gtin, e.template, e.panel, e.colors, e.zone, e.ts, e.by),
    )


def binding_history(conn: sqlite3.Connection, label: str) -> list[BindingEvent]:
    rows = conn.execute(
        "SELECT label, action, gtin, template, panel, colors, zone, ts, by FROM esl_bindings"
        " WHERE label = ? ORDER BY id",
        (label,),
    ).fetchall()
    keys = ("label", "action", "gtin", "template", "panel", "colors", "zone", "ts", "by")
    return [BindingEvent.model_validate(dict(zip(keys, r, strict=True))) for r in rows]
