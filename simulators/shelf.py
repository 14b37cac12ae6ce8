"""A simulated smart shelf (kind ``shelf``): slot scales, a pick camera, shopper tracks."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

from devices.base import CommandArgs, DeviceConfig
from devices.shelf.codec import Identify, Tare
from devices.shelf.config import ShelfConfig
from simulators.base import CommandRejected, DeviceSimulator, SimEndpoint, SimulatorError
from simulators.catalog import PRODUCTS

#: Units of its planned item on each slot when the simulator starts.
START_UNITS = 8
#: Grams of one unit of an item that is not a demo product.
UNKNOWN_UNIT_G = 250.0

Hand = Literal["pick", "put"]


def unit_grams(gtin: str) -> float:
    """Grams of one unit of ``gtin`` (a demo product's, else :data:`UNKNOWN_UNIT_G`)."""
    return next((p.grams for p in PRODUCTS if p.gtin == gtin), UNKNOWN_UNIT_G)


class ShelfSimulator(DeviceSimulator[ShelfConfig]):
    """Keeps the load on each slot's scale (:attr:`grams`: noise-free, since its last tare),
    the units on it (:attr:`units`) and the tracks standing in front (:attr:`tracks`).

    :meth:`weight` and :meth:`action` send one event each, exactly as given, and change
    neither (to stage a camera and a scale that disagree, or a noisy reading of
    :attr:`grams`); :meth:`people` also keeps the tracks. :meth:`hand` is a whole pick or
    put-back: the camera's ``action``, the load changes, then, once the scale settled
    (``settle_s``), a ``weight`` reading with the scale's noise (``noise_g``). ``tare``
    zeroes a slot (and reports its ``weight``); ``identify`` is kept in
    :attr:`identify_seconds`."""

    kind: ClassVar[str | None] = "shelf"
    config_model: ClassVar[type[DeviceConfig]] = ShelfConfig
    model: ClassVar[str] = "sim-shelf"

    def __init__(
        self, config: ShelfConfig, store: str, endpoint: SimEndpoint, **options: Any
    ) -> None:
        super().__init__(config, store, endpoint, **options)
        self.units: dict[str, int] = dict.fromkeys(config.slots, START_UNITS)
        self.grams: dict[str, float] = {
            slot: START_UNITS * unit_grams(gtin) for slot, gtin in config.slots.items()
        }
        self.tracks: list[str] = []
        self.identify_seconds = 0

    def _slot(self, slot: str) -> str:
        if slot not in self.config.slots:
            known = ", ".join(self.config.slots)
            raise SimulatorError(f"{self.device_id}: no slot {slot!r} (slots: {known})")
        return slot

    async def weight(self, slot: str, grams: float) -> int:
        """The slot's scale reports it settled at ``grams``."""
        return await self.event("weight", slot=self._slot(slot), grams=float(grams))

    async def action(
        self,
        slot: str,
        action: Hand,
        gtin: str | None,
        count: int = 1,
        confidence: float = 1.0,
        track: str | None = None,
    ) -> int:
        """The camera saw a hand take/put ``count`` of ``gtin`` (None: not recognised)."""
        return await self.event(
            "action",
            slot=self._slot(slot),
            action=action,
            gtin=gtin,
            count=count,
            confidence=float(confidence),
            track=track,
        )

    async def people(
        self,
        tracks: Sequence[str],
        reach: Mapping[str, Sequence[str]] | None = None,
        front: Mapping[str, str] | None = None,
    ) -> int:
        """These shopper tracks now stand at the shelf (``reach``: the slots some of them
        can reach, ``front``: the slot each stands in front of, as an overhead tracking
        system places them)."""
        extra: dict[str, object] = {}
        if reach:
            extra["reach"] = {t: list(r) for t, r in reach.items()}
        if front:
            extra["front"] = dict(front)
        seq = await self.event("people", tracks=list(tracks), **extra)
        self.tracks = list(tracks)
        return seq

    async def reached(self, slot: str, track: str) -> int:
        """The overhead tracking saw ``track``'s hand go into ``slot`` (no item, no
        direction: it sees arms)."""
        return await self.event("hand", slot=self._slot(slot), track=track)

    def within_reach(self, slot: str) -> list[str]:
        """The slots a shopper standing in front of ``slot`` can reach: it and its
        neighbours in the planogram's order."""
        order = list(self.config.slots)
        i = order.index(self._slot(slot))
        return order[max(i - 1, 0) : i + 2]

    async def hand(
        self,
        slot: str,
        action: Hand,
        count: int = 1,
        *,
        track: str | None = None,
        confidence: float = 0.95,
        recognised: bool = True,
    ) -> tuple[int, int]:
        """A hand takes (``pick``) or puts back (``put``) ``count`` units of the slot's
        planned item: ``action``, then the settled, noisy ``weight``. Returns both seqs."""
        gtin = self.config.slots[self._slot(slot)]
        if action == "pick" and count > self.units[slot]:
            raise SimulatorError(f"{self.device_id}: slot {slot!r} holds {self.units[slot]}")
        sign = 1 if action == "put" else -1
        seen = await self.action(
            slot, action, gtin if recognised else None, count, confidence, track
        )
        self.units[slot] += sign * count
        self.grams[slot] += sign * count * unit_grams(gtin)
        await asyncio.sleep(self.config.settle_s)
        reading = self.grams[slot] + self.rng.gauss(0.0, self.config.noise_g)
        return seen, await self.weight(slot, round(reading, 1))

    async def random_action(self, rng: random.Random) -> None:
        """Mostly a shopper in front picks an item (now and then puts one back, or the
        camera does not recognise it); else someone arrives at or leaves the shelf."""
        if not self.tracks or rng.random() < 0.2:
            if len(self.tracks) >= 4 or (self.tracks and rng.random() < 0.5):
                leaving = rng.choice(self.tracks)
                await self.people([t for t in self.tracks if t != leaving])
            else:
                await self.people([*self.tracks, f"t{rng.randrange(1_000_000)}"])
            return
        slot = rng.choice(sorted(self.config.slots))
        action: Hand = "put" if self.units[slot] == 0 or rng.random() < 0.15 else "pick"
        count = 1 if action == "put" else min(self.units[slot], rng.choice([1, 1, 1, 2]))
        track = rng.choice(self.tracks)
        if rng.random() < 0.9:
            await self.reached(slot, track)
        await self.hand(
            slot,
            action,
            count,
            track=track if rng.random() < 0.9 else None,
            confidence=round(rng.uniform(0.6, 0.99), 2),
            recognised=rng.random() < 0.95,
        )

    def sample_fields(self, event: str) -> dict[str, Any]:
        slot, gtin = next(iter(self.config.slots.items()))
        samples: dict[str, dict[str, Any]] = {
            "weight": {"slot": slot, "grams": 0.0},
            "action": {
                "slot": slot,
                "action": "pick",
                "gtin": gtin,
                "count": 1,
                "confidence": 1.0,
                "track": None,
            },
            "people": {"tracks": []},
            "hand": {"slot": slot, "track": "t-1"},
        }
        return samples.get(event, {})

    async def on_command(self, name: str, args: CommandArgs) -> dict[str, Any] | None:
        if isinstance(args, Identify):
            self.identify_seconds = args.seconds
            return None
        if isinstance(args, Tare):
            if args.slot not in self.config.slots:
                raise CommandRejected(f"unknown slot {args.slot!r}")
            self.grams[args.slot] = 0.0
            await self.weight(args.slot, 0.0)
            return {"slot": args.slot}
        raise CommandRejected(f"unknown command {name!r}")
