"""A shopper at a self-checkout kiosk: scans a random basket of the demo catalog, bags it,
pays — or misbehaves the way real shoppers do.

    async with KioskSimulator(config, "s1", endpoint) as kiosk:
        result = await Shopper(kiosk, seed=1).visit()      # one shopper, start to end
        result.outcome, result.sale

What one visit may do, each with the chance of :class:`Habits`:

- mis-scan (a damaged label: a wrong check digit), see the kiosk's message, scan again;
- scan a camera frame instead of a code (a real barcode image rendered and distorted
  by :mod:`simulators.barcode_images`, off the event loop);
- swap: put a different item in the bag than the one scanned — the kiosk locks and
  calls staff, and staff (played here, at the kiosk) clear it after a while;
- press help; identify as a member;
- abandon the basket half-way (the hub releases it after its timeout);
- pay by QR, retry ``pay`` as a flaky kiosk would, and on success take the receipt
  and the bags.

The shopper only speaks the wire contract through :class:`KioskSimulator`; it
learns what the hub did from the commands the kiosk received.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from simulators.barcode_images import make_frame
from simulators.base import ReceivedCommand, SimulatorError
from simulators.catalog import PRODUCTS, Product, ean13
from simulators.kiosk import KioskSimulator

log = logging.getLogger("storehub.simulators.shopper")

Outcome = Literal["paid", "abandoned", "payment_failed", "stuck"]


@dataclass(frozen=True, slots=True)
class Habits:
    """Chances per item (scans, bagging) or per visit (the rest)."""

    items: tuple[int, int] = (1, 5)
    mis_scan: float = 0.1
    image_scan: float = 0.2
    #: Severity range of the camera frames' distortion.
    image_severity: tuple[float, float] = (0.0, 0.5)
    swap: float = 0.05
    help: float = 0.05
    member: float = 0.2
    abandon: float = 0.05
    retry_pay: float = 0.3
    #: Seconds staff take to come and clear the kiosk (None: staff never come).
    staff_after_s: float | None = 1.0
    bag_g: float = 25.0


@dataclass
class Visit:
    outcome: Outcome = "stuck"
    sale: str | None = None
    total: str | None = None
    receipt: str | None = None
    scanned: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)


class Shopper:
    def __init__(
        self,
        kiosk: KioskSimulator,
        *,
        seed: int | None = None,
        habits: Habits | None = None,
        products: Sequence[Product] = PRODUCTS,
        timeout_s: float = 15.0,
    ) -> None:
        self.kiosk = kiosk
        self.rng = random.Random(seed)
        self.habits = habits or Habits()
        self.products = list(products)
        self.timeout_s = timeout_s
        self._seen = 0
        self._on_scale = 0.0
        self._visits = 0

    # -- one visit ----------------------------------------------------------------

    async def visit(self) -> Visit:
        h, rng, v = self.habits, self.rng, Visit()
        self._visits += 1
        self._seen = len(self.kiosk.commands_received)
        self._on_scale = h.bag_g
        await self.kiosk.weight(self._on_scale)
        if rng.random() < h.member:
            await self.kiosk.event("member", member=f"m-{rng.randint(1000, 9999)}")
            v.events.append("member")
        n = rng.randint(*h.items)
        stop_at = rng.randint(1, n) if rng.random() < h.abandon else None
        for i, product in enumerate(rng.choices(self.products, k=n), start=1):
            if stop_at == i:
                v.outcome = "abandoned"
                v.events.append("abandon")
                return v
            if not await self._scan(product, v):
                return v
            if not await self._bag(product, v):
                return v
        if rng.random() < h.help:
            await self.kiosk.help()
            v.events.append("help")
            await self._staff("clear", v)
        await self._pay(v)
        return v

    async def _scan(self, product: Product, v: Visit) -> bool:
        h = self.habits
        code = ean13(product.gtin)
        if self.rng.random() < h.mis_scan:
            bad = code[:-1] + str((int(code[-1]) + 1) % 10)
            mark = self._mark()
            await self.kiosk.scan(bad)
            v.events.append("mis_scan")
            await self._wait(lambda c: c.name == "message", mark)
        mark = self._mark()
        if self.rng.random() < h.image_scan:
            severity = self.rng.uniform(*h.image_severity)
            frame = await asyncio.to_thread(
                make_frame,
                code,
                "ean13",
                random.Random(self.rng.getrandbits(32)),
                severity=severity,
            )
            await self.kiosk.scan_image(frame.jpeg)
            v.events.append("image_scan")
            got = await self._wait(lambda c: c.name in ("basket", "message"), mark)
            if got is None or got.name == "message":  # unreadable: scan the code instead
                mark = self._mark()
                await self.kiosk.scan(code)
        else:
            await self.kiosk.scan(code)
        v.scanned.append(code)
        return await self._wait(lambda c: c.name == "basket", mark) is not None

    async def _bag(self, product: Product, v: Visit) -> bool:
        grams = product.grams
        swapped = self.rng.random() < self.habits.swap
        if swapped:
            others = [p for p in self.products if abs(p.grams - grams) > 100]
            grams = self.rng.choice(others).grams if others else grams + 300
            v.events.append("swap")
        mark = self._mark()
        self._on_scale += grams + self.rng.uniform(-3, 3)
        await self.kiosk.weight(round(self._on_scale, 1))
        if swapped:
            if await self._wait(lambda c: c.name == "lock", mark) is None:
                return True  # the hub let it pass: within its tolerance
            return await self._staff("clear", v)
        return True

    async def _staff(self, action: str, v: Visit) -> bool:
        after = self.habits.staff_after_s
        if after is None:
            v.outcome = "stuck"
            return False
        await asyncio.sleep(after)
        mark = self._mark()
        await self.kiosk.event("staff", staff="sim-staff", action=action)
        v.events.append(f"staff_{action}")
        if action == "clear" and self.kiosk.locked:
            return await self._wait(lambda c: c.name == "unlock", mark) is not None
        return True

    async def _pay(self, v: Visit) -> None:
        for attempt in range(2):
            pid = f"{self.kiosk.device_id}-{int(time.time())}-{self._visits}-{attempt}"
            mark = self._mark()
            await self.kiosk.event("pay", payment_id=pid)
            if self.rng.random() < self.habits.retry_pay:
                await self.kiosk.event("pay", payment_id=pid)  # a flaky kiosk's retry
                v.events.append("retry_pay")
            final = await self._wait(_payment_over(pid), mark, timeout=self.timeout_s * 10)
            if final is None:
                v.outcome = "stuck"
                return
            if final.args["status"] == "succeeded":
                receipt = await self._wait(lambda c: c.name == "receipt", mark)
                if receipt is not None:
                    v.sale, v.total = receipt.args["sale"], receipt.args.get("total")
                    v.receipt = receipt.args["text"]
                v.outcome = "paid"
                self._on_scale = 0.0
                await self.kiosk.weight(0.0)  # bags taken
                return
            v.events.append(f"payment_{final.args['status']}")
        v.outcome = "payment_failed"

    # -- what the kiosk was told ---------------------------------------------------------

    def _mark(self) -> int:
        return len(self.kiosk.commands_received)

    async def _wait(
        self, match: Callable[[ReceivedCommand], bool], since: int, timeout: float | None = None
    ) -> ReceivedCommand | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (timeout or self.timeout_s)
        while loop.time() < deadline:
            for cmd in self.kiosk.commands_received[since:]:
                if match(cmd):
                    return cmd
            await asyncio.sleep(0.02)
        return None


def _payment_over(pid: str) -> Callable[[ReceivedCommand], bool]:
    def match(c: ReceivedCommand) -> bool:
        return (
            c.name == "payment"
            and c.args.get("payment_id") == pid
            and c.args.get("status") != "pending"
        )

    return match


async def shop_forever(
    kiosk: KioskSimulator,
    *,
    seed: int | None = None,
    habits: Habits | None = None,
    pause_s: tuple[float, float] = (1, 5),
    visits: int | None = None,
) -> list[Visit]:
    """Shoppers one after another at one kiosk (all of them, or ``visits``)."""
    shopper = Shopper(kiosk, seed=seed, habits=habits)
    done: list[Visit] = []
    while visits is None or len(done) < visits:
        try:
            done.append(await shopper.visit())
        except SimulatorError as exc:
            log.warning("%s: %s", kiosk.device_id, exc)
        await asyncio.sleep(shopper.rng.uniform(*pause_s))
    return done


def summary(visits: Sequence[Visit]) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for v in visits:
        counts[v.outcome] = counts.get(v.outcome, 0) + 1
        for e in v.events:
            counts[e] = counts.get(e, 0) + 1
    return counts
