"""A simulated ESL access point (kind ``esl_ap``) serving thousands of shelf labels.

What it does like the real thing:

- labels check in every ``interval_s`` (± 10 %, first one spread over an
  interval) with battery, RSSI/LQI, temperature and the hash they show; the AP
  reports them in ``checkin`` batches every ``report_s``;
- ``update`` is accepted up to the AP's ``capacity`` (the rest is rejected with
  ``capacity``); accepted images go out over the radio in waves of
  ``radio_slots`` labels every ``airtime_s``, and their outcomes come back in
  ``results`` events;
- each label checks its image like firmware would: size for its panel
  (``bad_size``), decompression and hash (``bad_hash``), battery
  (``battery`` under ``min_update_mv``); the radio loses ``radio_failure`` of
  the transfers (``retry``/``radio``); a ``dead`` label never answers
  (``retry``/``no_ack``) and never checks in;
- ``led`` flashes a label it serves.

Payloads are built and checked with the kind's codec (``devices/esl_ap/codec.py``).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, ClassVar

from devices.base import CommandArgs, DeviceConfig
from devices.esl_ap.codec import (
    ImageError,
    LabelUpdate,
    Led,
    Update,
    decode_image,
    image_hash,
    image_size,
)
from devices.esl_ap.config import EslApConfig
from simulators.base import CommandRejected, DeviceSimulator, SimEndpoint

#: Check-in rows per ``checkin`` event (keeps each message well under 64 KiB).
CHECKIN_CHUNK = 400
RESULT_CHUNK = 1000


@dataclass(slots=True)
class SimLabel:
    id: str
    width: int = 296
    height: int = 128
    colors: str = "bwr"
    battery_mv: int = 2950
    interval_s: float = 300.0
    hash: str | None = None
    dead: bool = False
    fw: str = "esl-sim-1.2"
    rssi: float = -62.0
    lqi: int = 200
    next_at: float = 0.0
    updates: int = 0
    leds: list[dict[str, Any]] = field(default_factory=list)


class EslApSimulator(DeviceSimulator[EslApConfig]):
    kind: ClassVar[str | None] = "esl_ap"
    config_model: ClassVar[type[DeviceConfig]] = EslApConfig
    model: ClassVar[str] = "sim-esl-ap"

    def __init__(
        self,
        config: EslApConfig,
        store: str,
        endpoint: SimEndpoint,
        *,
        radio_failure: float = 0.02,
        min_update_mv: int = 2200,
        radio_slots: int = 64,
        airtime_s: float = 0.05,
        report_s: float = 1.0,
        **options: Any,
    ) -> None:
        super().__init__(config, store, endpoint, **options)
        self.labels: dict[str, SimLabel] = {}
        self.radio_failure = radio_failure
        self.min_update_mv = min_update_mv
        self.radio_slots = radio_slots
        self.airtime_s = airtime_s
        self.report_s = report_s
        self.queue: OrderedDict[str, LabelUpdate] = OrderedDict()
        self.results_sent: dict[str, int] = {"ok": 0, "retry": 0, "failed": 0}
        self._radio: asyncio.Task[Any] | None = None
        self._radio_wake = asyncio.Event()

    # -- the labels -----------------------------------------------------------------

    def add_labels(
        self,
        count: int,
        *,
        prefix: str | None = None,
        width: int = 296,
        height: int = 128,
        colors: str = "bwr",
        interval_s: float = 300.0,
        low_battery: float = 0.0,
        dead: float = 0.0,
    ) -> list[SimLabel]:
        """Add ``count`` labels; ``low_battery`` and ``dead`` are the shares (0–1) of them
        with a failing battery or no life at all."""
        prefix = prefix or f"{self.device_id}-l"
        now = self.clock()
        out = []
        start = len(self.labels)
        for i in range(start, start + count):
            label = SimLabel(
                f"{prefix}{i:05d}",
                width,
                height,
                colors,
                interval_s=interval_s,
                battery_mv=self.rng.randint(2050, 2350)
                if self.rng.random() < low_battery
                else self.rng.randint(2700, 3100),
                dead=self.rng.random() < dead,
                rssi=round(self.rng.uniform(-85, -45), 1),
                lqi=self.rng.randint(120, 255),
                next_at=now + self.rng.uniform(0, interval_s),
            )
            self.labels[label.id] = label
            out.append(label)
        return out

    def start(self) -> None:
        """Run the check-in loop and the radio in the background (until disconnect)."""
        self.spawn(self._checkin_loop(), "checkins")
        self._ensure_radio()

    async def checkin(self, labels: list[SimLabel] | None = None) -> int:
        """Report check-ins now (all live labels, or ``labels``); returns how many."""
        now = self.clock()
        chosen = [lb for lb in (labels or self.labels.values()) if not lb.dead]
        for lb in chosen:
            lb.next_at = now + lb.interval_s * self.rng.uniform(0.9, 1.1)
        for i in range(0, len(chosen), CHECKIN_CHUNK):
            rows = [self._row(lb) for lb in chosen[i : i + CHECKIN_CHUNK]]
            await self.event("checkin", labels=rows)
        return len(chosen)

    def _row(self, lb: SimLabel) -> dict[str, Any]:
        return {
            "label": lb.id,
            "battery_mv": lb.battery_mv,
            "rssi": lb.rssi,
            "lqi": lb.lqi,
            "temp_c": round(self.rng.uniform(18, 24), 1),
            "hash": lb.hash,
            "next_s": round(max(1.0, lb.next_at - self.clock()), 3),
            "fw": lb.fw,
            "width": lb.width,
            "height": lb.height,
            "colors": lb.colors,
        }

    async def _checkin_loop(self) -> None:
        while True:
            await asyncio.sleep(self.report_s)
            now = self.clock()
            due = [lb for lb in self.labels.values() if not lb.dead and lb.next_at <= now]
            if due:
                await self.checkin(due)

    # -- commands -------------------------------------------------------------------

    async def on_command(self, name: str, args: CommandArgs) -> dict[str, Any] | None:
        if isinstance(args, Update):
            accepted: list[str] = []
            rejected: list[dict[str, str]] = []
            for u in args.updates:
                if u.label not in self.labels:
                    rejected.append({"label": u.label, "reason": "unknown_label"})
                elif u.label not in self.queue and len(self.queue) >= self.config.capacity:
                    rejected.append({"label": u.label, "reason": "capacity"})
                else:
                    self.queue[u.label] = u  # a newer image replaces a queued one
                    accepted.append(u.label)
            self._ensure_radio()
            self._radio_wake.set()
            return {
                "accepted": accepted,
                "rejected": rejected,
                "free": self.config.capacity - len(self.queue),
            }
        if isinstance(args, Led):
            label = self.labels.get(args.label)
            if label is None:
                raise CommandRejected("unknown_label")
            label.leds.append(args.model_dump())
            return {"label": args.label}
        raise CommandRejected(f"unknown command {name!r}")

    def _ensure_radio(self) -> None:
        if not self.connected:
            return  # started by connect() / start(); a disconnected AP transmits nothing
        if self._radio is None or self._radio.done():
            self._radio = self.spawn(self._radio_loop(), "radio")

    async def _radio_loop(self) -> None:
        while True:
            if not self.queue:
                self._radio_wake.clear()
                await self._radio_wake.wait()
                continue
            await asyncio.sleep(self.airtime_s)
            wave = [
                self.queue.popitem(last=False)[1]
                for _ in range(min(self.radio_slots, len(self.queue)))
            ]
            results = [self.deliver(u) for u in wave]
            for i in range(0, len(results), RESULT_CHUNK):
                await self.event("results", results=results[i : i + RESULT_CHUNK])

    def deliver(self, u: LabelUpdate) -> dict[str, Any]:
        """One label receives one image over the air: what its firmware answers."""
        label = self.labels[u.label]

        def result(status: str, reason: str | None = None) -> dict[str, Any]:
            self.results_sent[status] += 1
            return {"label": u.label, "hash": u.hash, "status": status, "reason": reason}

        if label.dead:
            return result("retry", "no_ack")
        if self.rng.random() < self.radio_failure:
            return result("retry", "radio")
        if label.battery_mv < self.min_update_mv:
            return result("failed", "battery")
        expected = image_size(label.width, label.height, label.colors)  # type: ignore[arg-type]
        if (u.width, u.height, u.colors) != (label.width, label.height, label.colors):
            return result("failed", "bad_size")
        try:
            planes = decode_image(u.image, u.encoding, limit=expected)
        except ImageError:
            return result("failed", "bad_hash")
        if len(planes) != expected:
            return result("failed", "bad_size")
        if image_hash(planes) != u.hash:
            return result("failed", "bad_hash")
        label.hash = u.hash
        label.updates += 1
        return result("ok")

    def sample_fields(self, event: str) -> dict[str, Any]:
        if event == "checkin":
            return {
                "labels": [
                    {"label": "l1", "battery_mv": 3000, "rssi": -60.0, "lqi": 200, "next_s": 300.0}
                ]
            }
        return {}
