"""A simulated RFID gate at a doorway (kind ``rfid_gate``).

A tag carried out of the store is read on the inside antenna(s) first and on
the outside antenna(s) after (the reverse when carried in); reads are reported
in ``reads`` events of at most ``batch`` reads each. :class:`GateNoise` adds
what real gates do: missed reads, cross-reads of tags standing near the gate
(seen on one antenna only), RSSI jitter.

A gate configured with ``format = "zebra"`` reports the same reads the way a
Zebra reader does (IoT Connector tag data events on its ``data_topic``, no
``seq``), encoded by ``devices/rfid_gate/zebra.py``.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from devices.base import CommandArgs, DeviceConfig
from devices.rfid_gate.codec import Alarm, TagRead
from devices.rfid_gate.config import RfidGateConfig
from devices.rfid_gate.zebra import ZebraRead, encode_zebra
from simulators.base import CommandRejected, DeviceSimulator, SimEndpoint
from simulators.catalog import PRODUCTS, tag_epcs

#: Mean RSSI of a tag passing an inside / an outside antenna, dBm.
RSSI_INSIDE = -55.0
RSSI_OUTSIDE = -60.0
#: Most reads in one ``reads`` event.
MAX_BATCH = 200
#: Seconds over which one side's reads of a walk are spread.
SIDE_SPAN = 0.1


@dataclass(frozen=True, slots=True)
class GateNoise:
    """What makes a real gate's reads messy. Drawn from the simulator's seeded ``rng``."""

    #: Probability that any one read is missed.
    miss_rate: float = 0.1
    #: How many tags standing near the gate are read too (each on one antenna only).
    cross_reads: int = 2
    #: Their EPCs; random SGTINs when fewer than ``cross_reads`` are given.
    nearby: tuple[str, ...] = ()
    #: Standard deviation of the RSSI around its mean, dB.
    rssi_sigma: float = 3.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.miss_rate < 1.0:
            raise ValueError(f"miss_rate {self.miss_rate} is not in [0, 1)")
        if self.cross_reads < 0 or self.rssi_sigma < 0:
            raise ValueError("cross_reads and rssi_sigma must not be negative")


#: The gate's noise in the ``random`` scenario: a gate of ordinary quality.
RANDOM_NOISE = GateNoise(miss_rate=0.1, cross_reads=1, rssi_sigma=3.0)


@dataclass(slots=True)
class WalkResult:
    """What a walk published."""

    #: ``seq`` of each ``reads`` event (empty for a Zebra-format gate).
    seqs: list[int] = field(default_factory=list)
    #: Every read, in the order reported.
    reads: list[TagRead] = field(default_factory=list)
    #: Reads the noise dropped.
    missed: int = 0
    #: EPCs of the nearby tags that were cross-read.
    cross_read: list[str] = field(default_factory=list)

    def first_seen(self, epc: str, antennas: Sequence[int]) -> int | None:
        """Index in :attr:`reads` of the first read of ``epc`` on one of ``antennas``."""
        return next(
            (i for i, r in enumerate(self.reads) if r.epc == epc and r.antenna in antennas), None
        )


class RfidGateSimulator(DeviceSimulator[RfidGateConfig]):
    kind: ClassVar[str | None] = "rfid_gate"
    config_model: ClassVar[type[DeviceConfig]] = RfidGateConfig
    model: ClassVar[str] = "sim-rfid-gate"

    def __init__(
        self, config: RfidGateConfig, store: str, endpoint: SimEndpoint, **options: Any
    ) -> None:
        super().__init__(config, store, endpoint, **options)
        #: Every ``alarm`` command accepted, in order.
        self.alarms: list[Alarm] = []
        # Seeded: the same seed gives the same tags; unseeded, practically never the same.
        self._serial = self.rng.randrange(1 << 36)

    def new_tags(self, count: int, gtin: str | None = None) -> list[str]:
        """``count`` fresh SGTIN-96 EPCs (serials never used by this gate before) of
        ``gtin``, or of random demo products."""
        epcs: list[str] = []
        for _ in range(count):
            self._serial += 1
            product = gtin or self.rng.choice(PRODUCTS).gtin
            epcs.extend(tag_epcs(product, [self._serial]))
        return epcs

    async def walk(
        self,
        epcs: Sequence[str],
        direction: Literal["in", "out"] = "out",
        *,
        noise: GateNoise | None = None,
        reads_per_antenna: int = 3,
        dwell: float = 0.0,
        batch: int = MAX_BATCH,
    ) -> WalkResult:
        """Carry tags through the gate: the near side's antennas read them, then
        (after ``dwell`` seconds) the far side's. ``out`` = leaving (inside first).

        Each tag is read ``reads_per_antenna`` times on each antenna of a side,
        minus what ``noise`` drops; nearby tags are cross-read on one antenna."""
        if not 1 <= batch <= MAX_BATCH:
            raise ValueError(f"batch {batch} is not in 1..{MAX_BATCH}")
        cfg = self.config
        near, far = (
            (cfg.inside_antennas, cfg.outside_antennas)
            if direction == "out"
            else (cfg.outside_antennas, cfg.inside_antennas)
        )
        result = WalkResult()
        strays = self._cross_reads(noise, result)
        start = self.clock() - SIDE_SPAN
        side = self._side(list(epcs), near, start, noise, reads_per_antenna, strays, result)
        await self._report(side, batch, result)
        if dwell > 0:
            await asyncio.sleep(dwell)
        last = side[-1].ts if side else start
        start = max(self.clock() - SIDE_SPAN, last + 0.001)
        side = self._side(list(epcs), far, start, noise, reads_per_antenna, strays, result)
        await self._report(side, batch, result)
        return result

    def _cross_reads(self, noise: GateNoise | None, result: WalkResult) -> dict[int, list[str]]:
        """Nearby tags, each assigned to one antenna: antenna → EPCs."""
        if noise is None or noise.cross_reads == 0:
            return {}
        nearby = list(noise.nearby[: noise.cross_reads])
        nearby += self.new_tags(noise.cross_reads - len(nearby))
        antennas = [*self.config.inside_antennas, *self.config.outside_antennas]
        strays: dict[int, list[str]] = {}
        for epc in nearby:
            strays.setdefault(self.rng.choice(antennas), []).append(epc)
        result.cross_read.extend(nearby)
        return strays

    def _side(
        self,
        epcs: list[str],
        antennas: Sequence[int],
        start: float,
        noise: GateNoise | None,
        rounds: int,
        strays: dict[int, list[str]],
        result: WalkResult,
    ) -> list[TagRead]:
        """One side's reads: ``rounds`` inventory rounds over every tag and antenna."""
        planned: list[tuple[str, int]] = []
        for _ in range(rounds):
            for epc in epcs:
                planned.extend((epc, antenna) for antenna in antennas)
        for antenna in antennas:
            for epc in strays.get(antenna, []):
                # A tag standing still is read once or twice, anywhere in the side's span.
                for _ in range(self.rng.randint(1, 2)):
                    planned.insert(self.rng.randint(0, len(planned)), (epc, antenna))
        reads: list[TagRead] = []
        step = SIDE_SPAN / max(len(planned), 1)
        outside = set(self.config.outside_antennas)
        for i, (epc, antenna) in enumerate(planned):
            if noise is not None and self.rng.random() < noise.miss_rate:
                result.missed += 1
                continue
            mean = RSSI_OUTSIDE if antenna in outside else RSSI_INSIDE
            rssi = self.rng.gauss(mean, noise.rssi_sigma) if noise is not None else mean
            reads.append(
                TagRead(
                    epc=epc, antenna=antenna, rssi=round(rssi, 1), ts=round(start + i * step, 4)
                )
            )
        return reads

    async def _report(self, reads: list[TagRead], batch: int, result: WalkResult) -> None:
        for i in range(0, len(reads), batch):
            chunk = reads[i : i + batch]
            if self.config.format == "zebra" and self.config.data_topic:
                zebra = [
                    ZebraRead(
                        epc=r.epc, antenna=r.antenna, rssi=r.rssi, ts=r.ts, event_type="PORTAL"
                    )
                    for r in chunk
                ]
                await self.publish_raw(
                    self.config.data_topic, encode_zebra(zebra, batch=True), absolute=True
                )
                self.events_sent += 1
            else:
                dumped = [r.model_dump() for r in chunk]
                result.seqs.append(await self.event("reads", reads=dumped))
            result.reads.extend(chunk)

    async def random_action(self, rng: random.Random) -> None:
        """A shopper carries one to five new tagged items out (one walk in ten goes
        in); about one walk in a hundred is a whole cart."""
        roll = rng.random()
        count = rng.randint(50, MAX_BATCH) if roll < 0.01 else rng.randint(1, 5)
        direction: Literal["in", "out"] = "in" if roll > 0.9 else "out"
        await self.walk(
            self.new_tags(count), direction, noise=RANDOM_NOISE, dwell=rng.uniform(0.1, 0.4)
        )

    def sample_fields(self, event: str) -> dict[str, Any]:
        return {"reads": []} if event == "reads" else {}

    async def on_command(self, name: str, args: CommandArgs) -> dict[str, Any] | None:
        if not isinstance(args, Alarm):
            raise CommandRejected(f"unknown command {name!r}")
        self.alarms.append(args)
        return None
