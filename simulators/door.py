"""A simulated entry/exit door or turnstile (kind ``door``)."""

from __future__ import annotations

import asyncio
import random
from typing import Any, ClassVar, Literal

from devices.base import CommandArgs, DeviceConfig
from devices.door.codec import Lock, Open, Release
from devices.door.config import DoorConfig
from simulators.base import CommandRejected, DeviceSimulator, SimEndpoint


class DoorSimulator(DeviceSimulator[DoorConfig]):
    """Opens on ``open`` for ``seconds`` (``door`` open → closed), stays open after
    ``release`` until ``lock``; shoppers walk through with :meth:`passage`."""

    kind: ClassVar[str | None] = "door"
    config_model: ClassVar[type[DeviceConfig]] = DoorConfig
    model: ClassVar[str] = "sim-door"

    def __init__(
        self, config: DoorConfig, store: str, endpoint: SimEndpoint, **options: Any
    ) -> None:
        super().__init__(config, store, endpoint, **options)
        self.is_open = False
        #: Emergency release: open until ``lock``.
        self.released = False
        self._closer: asyncio.Task[Any] | None = None

    async def passage(self, direction: Literal["in", "out"]) -> int:
        """Someone went through (the door's sensor counted them)."""
        return await self.event("passage", direction=direction)

    async def force(self) -> int:
        """The door was forced open (opened without a command)."""
        return await self.event("forced")

    async def pass_through(self, direction: Literal["in", "out"], *, hold: float = 0.0) -> None:
        """A shopper walks through: the door opens, a passage, the door closes again
        (unless a command or a release holds it open)."""
        opened_here = not self.is_open
        if opened_here:
            await self.set_open(True)
        if hold:
            await asyncio.sleep(hold)
        await self.passage(direction)
        if opened_here and not self.released and self._closer is None:
            await self.set_open(False)

    async def set_open(self, value: bool) -> None:
        """Report a change of the door's state (``door`` event); no event if unchanged."""
        if value != self.is_open:
            self.is_open = value
            await self.event("door", open=value)

    async def random_action(self, rng: random.Random) -> None:
        """A shopper walks through (``in`` at an entry door, ``out`` at an exit door,
        either at a ``both`` door); very rarely the door is forced."""
        if rng.random() < 0.005:
            await self.force()
            return
        role = self.config.role
        direction: Literal["in", "out"] = (
            "in" if role == "entry" else "out" if role == "exit" else rng.choice(["in", "out"])
        )
        await self.pass_through(direction, hold=rng.uniform(0.05, 0.3))

    def sample_fields(self, event: str) -> dict[str, Any]:
        samples: dict[str, dict[str, Any]] = {
            "passage": {"direction": "in"},
            "door": {"open": True},
        }
        return samples.get(event, {})

    async def on_command(self, name: str, args: CommandArgs) -> dict[str, Any] | None:
        if isinstance(args, Open):
            if not self.released:
                self._cancel_closer()
                await self.set_open(True)
                self._closer = self.spawn(self._close_after(args.seconds), "close")
        elif isinstance(args, Lock):
            self.released = False
            self._cancel_closer()
            await self.set_open(False)
        elif isinstance(args, Release):
            self.released = True
            self._cancel_closer()
            await self.set_open(True)
        else:
            raise CommandRejected(f"unknown command {name!r}")
        return {"open": self.is_open, "released": self.released}

    async def _close_after(self, seconds: float) -> None:
        try:
            await asyncio.sleep(seconds)
        finally:
            if self._closer is asyncio.current_task():
                self._closer = None
        if not self.released:
            await self.set_open(False)

    def _cancel_closer(self) -> None:
        if self._closer is not None:
            self._closer.cancel()
            self._closer = None
