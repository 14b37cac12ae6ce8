"""Payment providers: the seam between checkout and a QR payment service.

The flow (WeChat Pay / Alipay "native" QR): the hub *creates* a payment for an
amount and gets a QR payload that the kiosk shows; the shopper pays with a
phone; the hub *queries* it until it is final, and *cancels* it when it takes
too long.  Every call is idempotent on the payment id, which the kiosk (or the
basket) chooses: a retried ``pay`` finds the same payment, never a second one.

Errors::

    HubError
    └── PaymentError          the provider could not be reached or refused the call
        └── PaymentConflict   the same payment id with another amount or currency
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal, Protocol

from pydantic import BaseModel, ConfigDict

from hub.errors import HubError
from hub.pricing.money import format_minor

if TYPE_CHECKING:
    from hub.checkout.config import SimulatedPayments

PaymentStatus = Literal["pending", "succeeded", "failed", "expired", "cancelled"]
FINAL: frozenset[str] = frozenset({"succeeded", "failed", "expired", "cancelled"})


class PaymentError(HubError):
    """The payment provider failed or refused a call."""


class PaymentConflict(PaymentError):
    """A payment id reused for a different amount or currency."""


class PaymentRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    amount: int
    currency: str
    description: str = ""


class Payment(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    amount: int
    currency: str
    status: PaymentStatus
    #: What the kiosk renders as a QR code for the shopper's phone.
    qr: str
    provider: str
    #: The provider's own transaction number, once paid.
    ref: str | None = None
    error: str | None = None

    @property
    def final(self) -> bool:
        return self.status in FINAL


class PaymentProvider(Protocol):
    """What checkout needs from a payment service (every call idempotent)."""

    name: str

    async def create(self, request: PaymentRequest) -> Payment:
        """Create the payment, or return the one with this id (:class:`PaymentConflict`
        if its amount or currency differ)."""
        ...

    async def query(self, payment_id: str) -> Payment:
        """The payment's current state (:class:`PaymentError` if unknown)."""
        ...

    async def cancel(self, payment_id: str) -> Payment:
        """Stop a pending payment; a payment already final is returned as it is (a
        payment that succeeded while being cancelled must still become a sale)."""
        ...

    async def refund(self, payment_id: str, refund_id: str, amount: int) -> bool:
        """Pay ``amount`` back (idempotent on ``refund_id``); True once refunded."""
        ...

    async def charge(self, request: PaymentRequest, token: str) -> Payment:
        """Charge a card-on-file / deduction agreement ``token`` (unmanned exits): the
        payment comes back final (succeeded or failed); idempotent on the id."""
        ...


Outcome = Literal["succeeded", "failed", "never"]


class SimulatedProvider:
    """A QR provider in memory: succeeds after ``delay_s``, or fails, or is never paid.

    ``fail_rate``/``timeout_rate`` draw the outcome from a seeded RNG; ``hold``
    keeps every payment pending until :meth:`settle` (tests).
    """

    name = "simulated"

    def __init__(
        self,
        *,
        store: str = "s1",
        delay_s: float = 1.0,
        fail_rate: float = 0.0,
        timeout_rate: float = 0.0,
        hold: bool = False,
        seed: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.delay_s = delay_s
        self.fail_rate = fail_rate
        self.timeout_rate = timeout_rate
        self.hold = hold
        self._rng = random.Random(seed)
        self._clock = clock
        self._payments: dict[str, Payment] = {}
        self._plan: dict[str, tuple[Outcome, float]] = {}
        self._refunds: dict[str, tuple[str, int]] = {}
        #: Calls of each kind, for tests (``create`` counts new payments only).
        self.calls: dict[str, int] = {"create": 0, "query": 0, "cancel": 0, "refund": 0}
        self.declined: set[str] = set()

    async def create(self, request: PaymentRequest) -> Payment:
        known = self._payments.get(request.id)
        if known is not None:
            if (known.amount, known.currency) != (request.amount, request.currency):
                raise PaymentConflict(
                    f"payment {request.id} exists for {known.amount} {known.currency}"
                )
            return known
        self.calls["create"] += 1
        amount = format_minor(request.amount, request.currency)
        qr = f"simpay://{self.store}/{request.id}?amount={amount}&currency={request.currency}"
        payment = Payment(
            id=request.id,
            amount=request.amount,
            currency=request.currency,
            status="pending",
            qr=qr,
            provider=self.name,
        )
        self._payments[request.id] = payment
        roll = self._rng.random()
        outcome: Outcome = (
            "never"
            if roll < self.timeout_rate
            else "failed"
            if roll < self.timeout_rate + self.fail_rate
            else "succeeded"
        )
        self._plan[request.id] = ("never" if self.hold else outcome, self._clock() + self.delay_s)
        return payment

    async def query(self, payment_id: str) -> Payment:
        self.calls["query"] += 1
        payment = self._get(payment_id)
        plan = self._plan.get(payment_id)
        if payment.status == "pending" and plan is not None:
            outcome, due = plan
            if outcome != "never" and self._clock() >= due:
                payment = self._set(payment_id, outcome)
        return payment

    async def cancel(self, payment_id: str) -> Payment:
        self.calls["cancel"] += 1
        payment = await self.query(payment_id)
        if payment.status == "pending":
            payment = self._set(payment_id, "cancelled")
        return payment

    async def refund(self, payment_id: str, refund_id: str, amount: int) -> bool:
        self.calls["refund"] += 1
        payment = self._get(payment_id)
        if payment.status != "succeeded":
            raise PaymentError(f"payment {payment_id} is {payment.status}, not refundable")
        done = sum(a for pid, a in self._refunds.values() if pid == payment_id)
        if refund_id not in self._refunds:
            if done + amount > payment.amount:
                raise PaymentError(f"refund of {amount} exceeds what is left of {payment_id}")
            self._refunds[refund_id] = (payment_id, amount)
        return True

    async def charge(self, request: PaymentRequest, token: str) -> Payment:
        """A deduction from a token: declined when the token starts with ``declined``
        or was :meth:`decline`-d, or by ``fail_rate``; otherwise succeeded at once."""
        known = self._payments.get(request.id)
        if known is not None and known.final:
            return known
        payment = await self.create(request)
        bad = token.startswith("declined") or token in self.declined
        if bad or self._rng.random() < self.fail_rate:
            return self._set(payment.id, "failed")
        return self._set(payment.id, "succeeded")

    def decline(self, token: str) -> None:
        """Every later charge of ``token`` fails (a blocked card, for tests)."""
        self.declined.add(token)

    def settle(self, payment_id: str, status: Literal["succeeded", "failed"]) -> Payment:
        """Decide a pending payment now (tests, and the shopper simulator's phone)."""
        return self._set(payment_id, status)

    def pending(self) -> list[str]:
        return [p.id for p in self._payments.values() if p.status == "pending"]

    def _get(self, payment_id: str) -> Payment:
        payment = self._payments.get(payment_id)
        if payment is None:
            raise PaymentError(f"no payment {payment_id}")
        return payment

    def _set(self, payment_id: str, status: PaymentStatus) -> Payment:
        payment = self._get(payment_id)
        if payment.final:
            return payment
        digest = hashlib.sha256(payment_id.encode()).hexdigest()[:12].upper()
        ref = f"SIM{digest}" if status == "succeeded" else None
        error = "declined by the wallet" if status == "failed" else None
        payment = payment.model_copy(update={"status": status, "ref": ref, "error": error})
        self._payments[payment_id] = payment
        return payment


def make_provider(
    settings: SimulatedPayments, *, store: str, clock: Callable[[], float] = time.time
) -> PaymentProvider:
    """The provider a checkout config names (only the simulated one so far)."""
    return SimulatedProvider(
        store=store,
        delay_s=settings.delay_s,
        fail_rate=settings.fail_rate,
        timeout_rate=settings.timeout_rate,
        hold=settings.hold,
        seed=settings.seed,
        clock=clock,
    )
