"""The ``random`` scenario: every device does plausible things, about ``rate`` times a second.

What "plausible" is belongs to each simulator (:meth:`DeviceSimulator.random_action`):

- doors: a shopper walks through (door opens, ``passage``, door closes) — ``in``
  at an entry door, ``out`` at an exit door, either at a ``both`` door; rarely ``forced``;
- RFID gates: a shopper carries one to five tagged items out (now and then in),
  with realistic noise; rarely a whole cart of up to 200 tags;
- kiosks: mostly barcode scans of the demo products, bagging-area weights,
  now and then a call for ``help``;
- a kind without a simulator of its own only shows presence.

Here, for any device: now and then it drops off the network (its will fires)
and comes back a few seconds later with a new birth. Each device is paced by
its own seeded ``random.Random``, so a seed repeats a run (up to timing).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Sequence
from typing import Any

from simulators.base import DeviceSimulator, SimulatorError

log = logging.getLogger("storehub.simulators.random")

#: Chance, per action, that the device drops off instead (never its first action).
DROP_CHANCE = 0.01
#: How long a dropped device stays away, seconds.
AWAY_S = (2.0, 6.0)


async def run_random(
    sims: Sequence[DeviceSimulator[Any]], *, rate: float, seed: int | None
) -> None:
    """Run until cancelled."""
    if rate <= 0:
        raise SimulatorError(f"rate must be positive, got {rate}")
    master = random.Random(seed)
    async with asyncio.TaskGroup() as tg:
        for sim in sims:
            rng = random.Random(master.getrandbits(64))
            tg.create_task(_device_loop(sim, rate, rng), name=f"random:{sim.device_id}")


async def _device_loop(sim: DeviceSimulator[Any], rate: float, rng: random.Random) -> None:
    # Start soon, and not all devices at once.
    await asyncio.sleep(rng.uniform(0.0, min(1.0 / rate, 1.0)))
    first = True
    while True:
        if not sim.connected:
            try:
                await sim.reconnect(retry_for=5.0)
            except SimulatorError as exc:
                log.warning("%s", exc)
                await asyncio.sleep(2.0)
                continue
        if not first and rng.random() < DROP_CHANCE:
            log.info("%s drops off the network", sim.device_id)
            await sim.drop()
            await asyncio.sleep(rng.uniform(*AWAY_S))
            continue
        first = False
        try:
            await sim.random_action(rng)
        except SimulatorError as exc:
            log.info("%s: %s", sim.device_id, exc)
        await asyncio.sleep(rng.expovariate(rate))
