"""A simulated environment sensor (kind ``sensor``): a fridge/freezer thermometer or a
people counter at the checkout."""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from devices.base import CommandArgs, DeviceConfig
from devices.sensor.codec import Identify, Interval
from devices.sensor.config import SensorConfig
from simulators.base import DeviceSimulator, SimEndpoint

#: Where each role's reading sits when all is well (°C, or people waiting).
NORMAL = {"fridge": 4.0, "freezer": -20.0, "ambient": 21.0, "queue": 0, "fire": 0}


class SensorSimulator(DeviceSimulator[SensorConfig]):
    """Reports its role's reading: ``temperature`` for fridge/freezer/ambient, ``queue`` for
    a people counter.  Set :attr:`value` (or call :meth:`temperature` / :meth:`queue`) to
    stage an excursion; :meth:`start_reporting` sends a reading every ``interval`` seconds,
    which the ``interval`` command changes, like the real device."""

    kind: ClassVar[str | None] = "sensor"
    config_model: ClassVar[type[DeviceConfig]] = SensorConfig
    model: ClassVar[str] = "sim-sensor"

    def __init__(
        self, config: SensorConfig, store: str, endpoint: SimEndpoint, **options: Any
    ) -> None:
        super().__init__(config, store, endpoint, **options)
        self.value: float = NORMAL[config.role]
        self.interval: float = float(config.interval_s)
        #: Random wobble of each temperature reading (°C), seeded like all the noise.
        self.noise = 0.2
        self.identify_seconds = 0

    @property
    def counts_people(self) -> bool:
        return self.config.role == "queue"

    async def temperature(self, celsius: float) -> int:
        """Report a temperature (and keep it as the current value)."""
        self.value = float(celsius)
        return await self.event("temperature", celsius=round(self.value, 2))

    async def queue(self, count: int) -> int:
        """Report how many people are waiting (and keep it as the current value)."""
        self.value = count
        return await self.event("queue", count=int(count))

    async def fire(self, active: bool) -> int:
        """The fire alarm panel goes off (``True``) or is reset (``False``)."""
        self.value = 1.0 if active else 0.0
        return await self.event("fire", active=active)

    async def reading(self) -> int:
        """Report the current value, as the device's timer would."""
        if self.config.role == "fire":
            return await self.event("fire", active=self.value > 0)
        if self.counts_people:
            return await self.event("queue", count=int(self.value))
        wobble = self.rng.uniform(-self.noise, self.noise) if self.noise else 0.0
        return await self.event("temperature", celsius=round(self.value + wobble, 2))

    def start_reporting(self) -> asyncio.Task[Any]:
        """Send a reading every :attr:`interval` seconds until disconnected."""

        async def loop() -> None:
            while True:
                await self.reading()
                await asyncio.sleep(self.interval)

        return self.spawn(loop(), "readings")

    def sample_fields(self, event: str) -> dict[str, Any]:
        samples: dict[str, dict[str, Any]] = {
            "temperature": {"celsius": 4.0},
            "queue": {"count": 0},
            "fire": {"active": False},
        }
        return samples.get(event, {})

    async def on_command(self, name: str, args: CommandArgs) -> dict[str, Any] | None:
        if isinstance(args, Interval):
            self.interval = float(args.seconds)
        elif isinstance(args, Identify):
            self.identify_seconds = args.seconds
        return {"interval": self.interval}
