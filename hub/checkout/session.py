"""One kiosk's basket and its rules: a plain state machine, no I/O.

Each input (a scan, a scale reading, a staff action, a tick of the clock)
changes the session and returns *effects* — commands for the kiosk, alerts to
raise or resolve, "the basket changed" — that :mod:`hub.checkout.service`
carries out.  That keeps every fraud and assist rule testable without a hub::

    idle ──scan──▶ shopping ──pay──▶ paying ──paid──▶ idle
                      ▲                 │ failed / expired / cancel
                      └─────────────────┘
    any ──unexpected weight, item not placed──▶ locked (alert) ──staff clear──▶ unlocked
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from hub.catalog import Item
from hub.checkout.bagging import (
    NOT_PLACED,
    REMOVED,
    UNEXPECTED,
    UNSCANNED,
    BagScale,
    Expectation,
    Outcome,
    Problem,
)
from hub.pricing import BasketItem, Unit

Phase = Literal["idle", "shopping", "paying"]
StaffAction = Literal["clear", "approve_age", "void_line", "cancel_basket"]

ASSIST = "kiosk_assist"
AGE = "age_check"
HELP = "help_request"  # the kind the rules engine's kiosk_help rule raises too

_TITLES: dict[Problem, str] = {
    UNEXPECTED: "Unexpected weight in the bagging area",
    NOT_PLACED: "Scanned item not placed in the bagging area",
    UNSCANNED: "Unscanned item in the bagging area",
    REMOVED: "Item removed from the bagging area",
}
_SHOPPER: dict[Problem, str] = {
    UNEXPECTED: "Unexpected item in the bagging area. Staff are on the way.",
    NOT_PLACED: "Please place the item in the bagging area. Staff are on the way.",
    UNSCANNED: "Please scan every item before bagging it. Staff are on the way.",
    REMOVED: "An item was taken from the bagging area. Staff are on the way.",
}


@dataclass(frozen=True, slots=True)
class Send:
    command: str
    args: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Raise:
    kind: str
    severity: Literal["info", "warning", "critical"]
    title: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Resolve:
    kind: str


@dataclass(frozen=True, slots=True)
class Reprice:
    """The basket changed: price it and send ``basket``."""


@dataclass(frozen=True, slots=True)
class EndBasket:
    """The basket is gone (abandoned or cancelled): release its locks and payment."""

    basket: str
    payment: str | None
    reason: str


Effect = Send | Raise | Resolve | Reprice | EndBasket


@dataclass(slots=True)
class ScanLine:
    id: int
    gtin: str
    name: str
    code: str
    unit: Unit
    expect: Expectation | None
    grams: int | None = None
    price: int | None = None
    epcs: tuple[str, ...] = ()
    age_restricted: bool = False
    approved: bool = True
    #: A weighed item scanned without a weight: the bagging scale weighs it.
    weigh_on_scale: bool = False
    placed_g: float | None = None
    #: Whether its bagging weight may teach the item's expected weight.
    learn: bool = True


@dataclass
class KioskSession:
    kiosk: str
    scale: BagScale
    abandon_after_s: float = 300.0
    phase: Phase = "idle"
    basket: str = ""
    lines: list[ScanLine] = field(default_factory=list)
    member: str | None = None
    locked: Problem | None = None
    payment: str | None = None
    attempts: int = 0
    last_activity: float = 0.0
    #: Bumped on every change of the basket (part of derived payment ids).
    version: int = 0
    _next_line: int = 1

    # -- inputs ------------------------------------------------------------------

    def scan(
        self,
        item: Item,
        *,
        code: str,
        expect: Expectation | None,
        now: float,
        grams: int | None = None,
        price: int | None = None,
        epcs: tuple[str, ...] = (),
    ) -> list[Effect]:
        if self.locked is not None:
            return [_msg("Please wait: staff are on the way.", "warning")]
        if self.phase == "paying":
            return [_msg("Payment in progress. Cancel it to add more items.", "warning")]
        if self.phase == "idle":
            self._start(now)
        self.last_activity = now
        weigh = item.unit == "kg" and grams is None and price is None
        line = ScanLine(
            id=self._next_line,
            gtin=item.gtin,
            name=item.name,
            code=code,
            unit=Unit(item.unit),
            expect=expect,
            grams=grams,
            price=price,
            epcs=epcs,
            age_restricted=item.age_restricted,
            approved=not item.age_restricted,
            weigh_on_scale=weigh,
            learn=grams is None and price is None and not weigh,
        )
        self._next_line += 1
        self.lines.append(line)
        self.version += 1
        if expect is not None:
            self.scale.scanned(line.id, expect, now)
        effects: list[Effect] = [Reprice()]
        if item.age_restricted:
            effects.append(
                Raise(
                    AGE,
                    "warning",
                    f"Age check needed at {self.kiosk}",
                    {"item": item.gtin, "name": item.name, "line": line.id},
                )
            )
            effects.append(_msg("This item needs an age check. Staff will come to you."))
        return effects

    def weight(self, grams: float, now: float) -> list[Effect]:
        if self.phase == "idle":
            self.scale.reading = grams  # between shoppers: bags taken away, nothing to check
            return []
        outcome = self.scale.weigh(grams)
        effects: list[Effect] = []
        for placed in outcome.placed:
            line = self._line(placed.line)
            if line is not None:
                line.placed_g = placed.grams
                if line.weigh_on_scale:
                    line.grams = max(round(placed.grams), 1)
                    self.version += 1
                    effects.append(Reprice())
        return effects + self._problem(outcome)

    def tick(self, now: float) -> list[Effect]:
        effects = self._problem(self.scale.tick(now)) if self.phase != "idle" else []
        idle = now - self.last_activity
        if self.phase != "idle" and idle >= self.abandon_after_s:
            effects += self.end("abandoned")
        return effects

    def help(self, now: float) -> list[Effect]:
        self.last_activity = now
        return [
            Raise(HELP, "warning", f"Help requested at {self.kiosk}", {}),
            _msg("Help is on the way."),
        ]

    def set_member(self, member: str, now: float) -> list[Effect]:
        self.last_activity = now
        if member == self.member:
            return []
        self.member = member
        self.version += 1
        return [Reprice(), _msg("Member prices applied.")]

    def staff(
        self, action: StaffAction, *, staff: str, line: int | None = None, now: float
    ) -> list[Effect]:
        self.last_activity = now
        if action == "clear":
            return self.clear(staff)
        if action == "approve_age":
            return self.approve_age(staff)
        if action == "cancel_basket":
            return self.end(f"cancelled by {staff}")
        return self.void(line, staff)

    def clear(self, staff: str = "") -> list[Effect]:
        """Staff checked the bagging area: take the scale as it is, unlock."""
        effects: list[Effect] = [Resolve(HELP)]
        self.scale.rebase()
        for line in self.lines:
            line.learn = line.learn and line.placed_g is not None
        if self.locked is not None:
            self.locked = None
            effects += [Resolve(ASSIST), Send("unlock", {})]
        return effects

    def approve_age(self, staff: str = "") -> list[Effect]:
        waiting = [ln for ln in self.lines if not ln.approved]
        for ln in waiting:
            ln.approved = True
        return [Resolve(AGE), _msg("Age check done. Thank you.")] if waiting else [Resolve(AGE)]

    def void(self, basket_line: int | None, staff: str) -> list[Effect]:
        """Remove one unit of the ``basket_line``-th line of the basket (1-based), as shown."""
        shown = self.shown_lines()
        if basket_line is None or not 1 <= basket_line <= len(shown):
            return [_msg("No such line in the basket.", "warning")]
        victim = shown[basket_line - 1][-1]  # the unit scanned last
        self.lines = [ln for ln in self.lines if ln.id != victim.id]
        self.scale.forget(victim.id)
        self.scale.rebase()
        self.version += 1
        effects: list[Effect] = [Reprice()]
        if not any(not ln.approved for ln in self.lines):
            effects.append(Resolve(AGE))
        return effects

    # -- payment -----------------------------------------------------------------

    def cannot_pay(self) -> str | None:
        """Why the basket cannot be paid now, in the shopper's words; None if it can."""
        if not self.lines:
            return "Your basket is empty."
        if self.locked is not None:
            return "Please wait: staff are on the way."
        if any(not ln.approved for ln in self.lines):
            return "An item needs an age check. Staff will come to you."
        if self.scale.pending:
            return "Please place every scanned item in the bagging area."
        return None

    def payment_id(self) -> str:
        """A payment id for this basket as it is now: retries of ``pay`` without an id
        find the same payment; a changed basket, or a new attempt after a failed
        one, gets a new one."""
        return f"{self.basket}-{self.version}-{self.attempts}"

    def paying(self, payment_id: str) -> None:
        self.phase = "paying"
        self.payment = payment_id
        self.attempts += 1

    def payment_over(self, status: str) -> list[Effect]:
        """A payment that did not succeed: back to shopping, the basket kept."""
        if self.phase == "paying":
            self.phase = "shopping"
            self.payment = None
        text = {
            "failed": "Payment failed. Please try again.",
            "expired": "Payment timed out. Please try again.",
            "cancelled": "Payment cancelled.",
        }.get(status, "Payment not completed.")
        return [_msg(text, "warning")]

    def paid(self) -> list[tuple[str, float]]:
        """The basket was paid: returns the weights it teaches, and starts over."""
        learned = [
            (ln.gtin, ln.placed_g)
            for ln in self.lines
            if ln.learn and ln.placed_g is not None and ln.expect is not None
        ]
        self._reset()
        return [(g, w) for g, w in learned if w is not None]

    def end(self, reason: str) -> list[Effect]:
        """Drop the basket (abandoned, cancelled by staff)."""
        if self.phase == "idle":
            return []
        ended = EndBasket(self.basket, self.payment, reason)
        self._reset()
        return [ended, Reprice(), _msg("Your basket was cleared.", "warning")]

    # -- views ---------------------------------------------------------------------

    def shown_lines(self) -> list[list[ScanLine]]:
        """Scans as the basket shows them: units of one countable item together."""
        groups: list[list[ScanLine]] = []
        index: dict[str, list[ScanLine]] = {}
        for ln in self.lines:
            countable = ln.unit is Unit.EACH and ln.price is None
            if countable and ln.gtin in index:
                index[ln.gtin].append(ln)
                continue
            group = [ln]
            groups.append(group)
            if countable:
                index[ln.gtin] = group
        return groups

    def items(
        self, lookup: Callable[[str], Item | None], default_tax: Decimal
    ) -> list[tuple[int, BasketItem]]:
        """The basket to price, at catalog prices of *now* (the time of sale), each
        with its line number as shown (lines that cannot be priced yet are skipped)."""
        out: list[tuple[int, BasketItem]] = []
        for number, group in enumerate(self.shown_lines(), start=1):
            first = group[0]
            item = lookup(first.gtin)
            if item is None:  # left the catalog while in the basket: cannot be priced
                continue
            if first.unit is Unit.KG and first.grams is None and first.price is None:
                continue  # waiting for the scale to weigh it
            out.append(
                (
                    number,
                    BasketItem(
                        gtin=first.gtin,
                        name=item.name,
                        unit_price=item.price,
                        tax_rate=item.tax_rate if item.tax_rate is not None else default_tax,
                        unit=first.unit,
                        qty=len(group),
                        grams=first.grams,
                        amount=first.price,
                        code=first.code,
                        epcs=tuple(e for ln in group for e in ln.epcs),
                    ),
                )
            )
        return out

    # -- internals ------------------------------------------------------------------

    def _start(self, now: float) -> None:
        self.phase = "shopping"
        self.basket = uuid.uuid4().hex[:16]
        self.scale.start()
        self.last_activity = now

    def _reset(self) -> None:
        self.phase = "idle"
        self.lines = []
        self.member = None
        self.payment = None
        self.attempts = 0
        self.version += 1
        self.scale.waiting.clear()

    def _line(self, line_id: int) -> ScanLine | None:
        return next((ln for ln in self.lines if ln.id == line_id), None)

    def _problem(self, outcome: Outcome) -> list[Effect]:
        problem = outcome.problem
        if problem is None or self.locked is not None:
            return []
        self.locked = problem
        line = self._line(outcome.line) if outcome.line is not None else None
        if line is not None:
            line.learn = False  # a disputed weight teaches nothing
        data: dict[str, Any] = {
            "reason": problem,
            "off_by_g": round(outcome.off_by, 1),
            "expected_g": round(self.scale.expected, 1),
            "reading_g": self.scale.reading,
        }
        if line is not None:
            data.update(item=line.gtin, name=line.name, line=line.id)
        return [
            Send("lock", {"reason": problem}),
            Raise(ASSIST, "warning", f"{_TITLES[problem]} at {self.kiosk}", data),
            _msg(_SHOPPER[problem], "warning"),
        ]


def _msg(text: str, level: str = "info") -> Send:
    return Send("message", {"text": text, "level": level})
