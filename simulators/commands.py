"""Commands as a simulated device receives them: envelope, arguments, what it got."""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from devices.base import Codec, CommandArgs, first_error
from simulators.errors import CommandRejected


class ReceivedCommand(NamedTuple):
    """A well-formed command as it arrived (arguments without id/ts/expires)."""

    name: str
    args: dict[str, Any]
    id: str


class Envelope(BaseModel):
    """What every command carries; the rest are the command's arguments."""

    model_config = ConfigDict(extra="allow", frozen=True)

    id: str = Field(min_length=1)
    ts: float
    expires: float


class AnyArgs(CommandArgs):
    """Arguments of a command of a kind that has no codec: taken as they come."""

    model_config = ConfigDict(extra="allow", frozen=True)


def command_args(codec: Codec | None, name: str, args: dict[str, Any]) -> CommandArgs:
    """The command's arguments as its codec model; :class:`CommandRejected` if the
    kind has no such command or the arguments are invalid."""
    if codec is None:
        return AnyArgs.model_validate(args)
    model = codec.commands.get(name)
    if model is None:
        raise CommandRejected(f"unknown command {name!r}")
    # Unknown fields are ignored (contract); the codec's models forbid them.
    known = {k: v for k, v in args.items() if k in model.model_fields}
    try:
        return model.model_validate(known)
    except ValidationError as exc:
        raise CommandRejected(f"invalid: {first_error(exc)}") from None


def salvage_id(payload: bytes) -> str | None:
    """The ``id`` of a malformed command, if it has a usable one (to reply to it)."""
    try:
        body = json.loads(payload)
    except ValueError:
        return None
    cmd_id = body.get("id") if isinstance(body, dict) else None
    return cmd_id if isinstance(cmd_id, str) and cmd_id else None
