"""A simulated entry/exit door or turnstile (kind ``door``).

Fail-safe: the door listens to the hub's retained ``store/{store}/hub/state``. When the
hub goes ``online: false`` (its will, or a clean goodbye) the door does on its own what
its ``fail_safe`` says, and keeps doing it after the hub is back, until the hub sends
``lock`` or ``open``:

- ``open``: it opens and stays open, like a ``release``;
- ``locked``: it closes and nobody walks through (:class:`DoorLocked`), except back
  into the store through an ``inner`` vestibule door: its mechanical release never lets
  a shopper be trapped in the vestibule. An emergency ``release`` wins over it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from typing import Any, ClassVar, Literal

from devices.base import CommandArgs, DeviceConfig
from devices.door.codec import Lock, Open, Release
from devices.door.config import DoorConfig
from hub import topics
from simulators.base import CommandRejected, DeviceSimulator, SimEndpoint
from simulators.errors import DoorLocked

log = logging.getLogger("storehub.simulators")

Direction = Literal["in", "out"]


class DoorSimulator(DeviceSimulator[DoorConfig]):
    """Opens on ``open`` for ``seconds`` (``door`` open → closed), stays open after
    ``release`` until ``lock``; shoppers walk through with :meth:`pass_through`, show a
    code with :meth:`credential` and ask to leave with :meth:`request`."""

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
        #: What the hub last said of itself (None: not heard of it yet).
        self.hub_online: bool | None = None
        #: The fail-safe in force since the hub went offline, until ``lock``/``open``.
        self.fail_safe: Literal["open", "locked"] | None = None
        #: The ``session`` of the ``open`` command the door is open for, echoed by passages.
        self.open_session: str | None = None
        self._closer: asyncio.Task[Any] | None = None

    # -- what people do ----------------------------------------------------------

    async def passage(
        self, direction: Direction, session: str | None = None, track: str | None = None
    ) -> int:
        """Someone went through (the door's sensor counted them). ``session`` and ``track``
        are sent only when given."""
        extra = {"session": session, "track": track}
        return await self.event(
            "passage", direction=direction, **{k: v for k, v in extra.items() if v is not None}
        )

    async def force(self) -> int:
        """The door was forced open (opened without a command)."""
        return await self.event("forced")

    async def credential(self, method: Literal["qr", "card"], value: str) -> int:
        """The door's reader read a shopper's QR code or card."""
        return await self.event("credential", method=method, value=value)

    async def request(self, session: str | None = None, track: str | None = None) -> int:
        """Someone pressed the exit-request button / stands at the door asking to leave."""
        return await self.event("request", session=session, track=track)

    def can_pass(self, direction: Direction) -> bool:
        """Whether a shopper can walk through now: not while fail-safe locked, except back
        into the store through an inner vestibule door (its mechanical release)."""
        if self.fail_safe != "locked":
            return True
        return self.config.side == "inner" and direction == "in"

    async def pass_through(
        self,
        direction: Direction,
        *,
        hold: float = 0.0,
        session: str | None = None,
        track: str | None = None,
    ) -> None:
        """A shopper walks through: the door opens, a passage, the door closes again
        (unless a command or a release holds it open). The passage echoes ``session``,
        else the session of the ``open`` the door is open for.

        :class:`DoorLocked` when the door is fail-safe locked (see :meth:`can_pass`)."""
        if not self.can_pass(direction):
            raise DoorLocked(f"{self.device_id}: locked (fail-safe), nobody passes {direction}")
        session = session if session is not None else self.open_session
        opened_here = not self.is_open
        if opened_here:
            await self.set_open(True)
        if hold:
            await asyncio.sleep(hold)
        await self.passage(direction, session, track)
        if opened_here and not self.held_open and self._closer is None:
            await self.set_open(False)

    @property
    def held_open(self) -> bool:
        """Open until the hub says otherwise: released, or fail-safe open."""
        return self.released or self.fail_safe == "open"

    async def set_open(self, value: bool) -> None:
        """Report a change of the door's state (``door`` event); no event if unchanged."""
        if not value:
            self.open_session = None
        if value != self.is_open:
            self.is_open = value
            await self.event("door", open=value)

    async def random_action(self, rng: random.Random) -> None:
        """A shopper walks through (``in`` at an entry door, ``out`` at an exit door,
        either at a ``both`` door); very rarely the door is forced. Nobody passes a
        fail-safe locked door."""
        if rng.random() < 0.005:
            await self.force()
            return
        role = self.config.role
        direction: Direction = (
            "in" if role == "entry" else "out" if role == "exit" else rng.choice(["in", "out"])
        )
        if self.can_pass(direction):
            await self.pass_through(direction, hold=rng.uniform(0.05, 0.3))

    def sample_fields(self, event: str) -> dict[str, Any]:
        samples: dict[str, dict[str, Any]] = {
            "passage": {"direction": "in"},
            "door": {"open": True},
            "credential": {"method": "qr", "value": "session-1"},
            "request": {"session": None, "track": None},
        }
        return samples.get(event, {})

    # -- the hub ---------------------------------------------------------------

    def subscriptions(self) -> tuple[str, ...]:
        return (topics.hub_state(self.store),)

    async def on_message(self, topic: str, payload: bytes) -> None:
        if topic != topics.hub_state(self.store):
            return
        try:
            online = json.loads(payload)["online"]
        except (ValueError, TypeError, KeyError):
            log.info("%s: ignoring hub state %r", self.device_id, payload[:80])
            return
        if not isinstance(online, bool):
            return
        was, self.hub_online = self.hub_online, online
        if not online and was is not False:
            await self._fail_safe()

    async def _fail_safe(self) -> None:
        self._cancel_closer()
        if self.config.fail_safe == "open":
            self.fail_safe = "open"
            await self.set_open(True)
            self.open_session = None
        elif not self.released:  # an emergency release keeps the door open
            self.fail_safe = "locked"
            await self.set_open(False)
        log.info("%s: the hub is offline: fail-safe %s", self.device_id, self.fail_safe)

    # -- commands --------------------------------------------------------------

    async def on_command(self, name: str, args: CommandArgs) -> dict[str, Any] | None:
        if isinstance(args, Open | Lock) and self.hub_online is False:
            # The hub is gone: only its return (a new birth) ends the fail-safe.
            raise CommandRejected("fail_safe: the hub is offline")
        if isinstance(args, Open):
            self.fail_safe = None
            if not self.released:
                self._cancel_closer()
                await self.set_open(True)
                self.open_session = args.session
                self._closer = self.spawn(self._close_after(args.seconds), "close")
        elif isinstance(args, Lock):
            self.released = False
            self.fail_safe = None
            self._cancel_closer()
            await self.set_open(False)
        elif isinstance(args, Release):
            self.released = True
            self.fail_safe = None
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
        if not self.held_open:
            await self.set_open(False)

    def _cancel_closer(self) -> None:
        if self._closer is not None:
            self._closer.cancel()
            self._closer = None
