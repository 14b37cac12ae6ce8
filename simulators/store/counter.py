"""The RFID box's counter as a simulated shopper uses it: the app's member code first,
then the basket laid down (the reader's read cycles), the QR waited for on the kiosk's
screen and paid (a declined card fails once, then pays), again after a failure."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from simulators.base import DeviceSimulator
from simulators.store.shoppers import Shopper

if TYPE_CHECKING:
    from simulators.store.runner import StoreRun

#: How long a shopper at the counter waits for the screen to show the payment, then for
#: it to go through (3 s before: under load the shopper walked away before the QR came,
#: and that payment held the counter for the next ones).
COUNTER_PATIENCE_S = 10.0
FINAL = ("succeeded", "failed", "expired", "cancelled")


async def pay_at_counter(run: StoreRun, sh: Shopper) -> None:
    kiosk = run.sims["counter-kiosk"]
    if not [e for e in sh.all_epcs() if e != sh.hidden]:
        return  # nothing to lay on the counter (put it all back, or hides it all)
    async with run.counter:
        # The app's member code first (the bill is then for their session).
        await kiosk.event("member", member=f"m{sh.n}")
        for attempt in range(3):
            mark = len(kiosk.commands_received)
            await run.read_tags("counter-rfid", sh, skip=sh.hidden)
            pid = await shown(kiosk, mark)
            run.log.append(f"{time.time():.3f} {sh.track} at the counter: payment {pid}")
            if pid is None:
                return  # nothing to pay (all already paid)
            sh.payments.append(pid)
            fail = sh.pay_token.startswith("declined") and attempt == 0
            assert run.provider is not None
            run.provider.settle(pid, "failed" if fail else "succeeded")
            final = await settled(kiosk, mark, pid)
            run.log.append(f"{time.time():.3f} {sh.track} at the counter: {pid} {final}")
            if final == "succeeded":
                return
            if fail:
                sh.exit = "declined"


async def shown(kiosk: DeviceSimulator[Any], mark: int) -> str | None:
    """The payment the counter's screen shows the shopper since ``mark``, who waits for
    it as a person would (a busy hub is slower; none comes when everything was paid)."""
    end = time.monotonic() + COUNTER_PATIENCE_S
    while time.monotonic() < end:
        for c in kiosk.commands_received[mark:]:
            if c.name == "payment" and c.args.get("status") == "pending":
                return str(c.args["payment_id"])
        await asyncio.sleep(0.02)
    return None


async def settled(kiosk: DeviceSimulator[Any], mark: int, pid: str) -> str | None:
    """How payment ``pid`` ended, as the screen shows it (None: it did not, in time)."""
    end = time.monotonic() + COUNTER_PATIENCE_S
    while time.monotonic() < end:
        for c in kiosk.commands_received[mark:]:
            mine = c.name == "payment" and c.args.get("payment_id") == pid
            if mine and c.args.get("status") in FINAL:
                return str(c.args["status"])
        await asyncio.sleep(0.02)
    return None
