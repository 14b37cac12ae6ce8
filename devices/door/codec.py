"""Wire payloads of the ``door`` kind (contract v1 plus hub-defined events). Pure: no I/O.

Contract v1: events ``passage``, ``door``, ``forced``; commands ``open``, ``lock``,
``release``.  The hub adds the optional ``session`` and ``track`` of a ``passage``
and the events ``credential`` and ``request`` (unmanned checkout).  See README.md.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from devices.base import Codec, CommandArgs, TrackId, WirePayload


class Passage(WirePayload):
    direction: Literal["in", "out"]
    #: (hub) The session the door was last opened for (``open.session``), echoed back.
    session: str | None = None
    #: (hub) The overhead tracker's id for the person who went through.
    track: TrackId | None = None


class DoorState(WirePayload):
    open: bool


class Forced(WirePayload):
    pass


class Credential(WirePayload):
    """(hub) The door's QR/card reader read a shopper's code."""

    method: Literal["qr", "card"]
    value: str = Field(min_length=1, max_length=4096)


class Request(WirePayload):
    """(hub) Someone pressed the exit-request button, or stands at the door asking to leave."""

    #: The shopping session the door knows the person by, None = unknown.
    session: str | None = None
    #: The overhead tracker's id for the person asking, None = unknown.
    track: TrackId | None = None


class Open(CommandArgs):
    seconds: int = Field(default=5, ge=1, le=600)
    session: str | None = None


class Lock(CommandArgs):
    pass


class Release(CommandArgs):
    """Emergency release: every door stays open until ``lock``."""

    reason: str = Field(min_length=1)


CODEC = Codec(
    events={
        "passage": Passage,
        "door": DoorState,
        "forced": Forced,
        "credential": Credential,
        "request": Request,
    },
    commands={"open": Open, "lock": Lock, "release": Release},
    streams={"passage": "traffic", "forced": "security"},
)
