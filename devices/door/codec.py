"""Wire payloads of the ``door`` kind (contract v1). Pure: no I/O."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from devices.base import Codec, CommandArgs, WirePayload


class Passage(WirePayload):
    direction: Literal["in", "out"]


class DoorState(WirePayload):
    open: bool


class Forced(WirePayload):
    pass


class Open(CommandArgs):
    seconds: int = Field(default=5, ge=1, le=600)
    session: str | None = None


class Lock(CommandArgs):
    pass


class Release(CommandArgs):
    """Emergency release: every door stays open until ``lock``."""

    reason: str = Field(min_length=1)


CODEC = Codec(
    events={"passage": Passage, "door": DoorState, "forced": Forced},
    commands={"open": Open, "lock": Lock, "release": Release},
    streams={"passage": "traffic", "forced": "security"},
)
