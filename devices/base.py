"""The driver contract every device kind implements.

A kind is one folder ``devices/<kind>/`` holding:

- ``config.py``  — a pydantic model subclassing :class:`DeviceConfig` with
  ``kind: Literal["<kind>"]``; all kinds' models form one discriminated union;
- ``codec.py``   — pure functions/tables: wire bytes ⇄ typed payloads, no I/O;
- ``driver.py``  — a :class:`Driver` subclass named ``Driver`` (the glue);
- ``README.md``  — the kind's events and commands.

The framework (``hub/``) owns connection, presence, dedupe, persistence, retries
and scheduling; a driver only speaks the wire.  The contract is five methods,
every one with a default, so a plain kind is just a config model and a codec.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, StringConstraints, ValidationError

from hub.errors import CommandError, PayloadError

if TYPE_CHECKING:
    from hub.context import DriverContext

DEVICE_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
DeviceId = Annotated[str, StringConstraints(pattern=DEVICE_ID_PATTERN)]
#: The overhead tracking system's id for one shopper (``track`` on shelf and door events).
TrackId = Annotated[str, StringConstraints(min_length=1, max_length=128)]

#: Largest accepted payload on ordinary topics, and on topics that carry images.
MAX_PAYLOAD = 64 * 1024
MAX_IMAGE_PAYLOAD = 1024 * 1024


class DeviceConfig(BaseModel):
    """What every device entry in a store config has; kinds add their own fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: DeviceId
    kind: str
    name: str | None = None
    zone: str | None = None
    role: str | None = None
    #: MQTT password for the managed broker; generated and kept in the data dir if unset.
    password: SecretStr | None = None
    #: A device that may sleep (e.g. battery powered) raises no ``device_offline`` alert.
    may_sleep: bool = False


class WirePayload(BaseModel):
    """Base of device → hub event payloads: ``{"ts": float, "seq": int, ...}``.

    Unknown fields are ignored (contract); types are strict so that ``"5"`` is
    not silently taken for ``5``.
    """

    model_config = ConfigDict(frozen=True, extra="ignore", strict=True)

    ts: float
    seq: int = Field(ge=0)


class ForeignPayload(BaseModel):
    """Base of payloads decoded from a device's own (non-contract) format.

    They carry no ``seq``: redelivery dedupe does not apply to them.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    ts: float


class CommandArgs(BaseModel):
    """Base of the arguments of a hub → device command (beyond id/ts/expires)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Codec:
    """Table-driven codec for the contract's JSON payloads.

    ``events`` maps an event name to its payload model, ``commands`` a command
    name to its argument model; ``image_events`` are the events whose topic
    accepts up to 1 MiB; ``streams`` names the outbox stream of events that
    must reach the cloud.
    """

    def __init__(
        self,
        *,
        events: Mapping[str, type[WirePayload]],
        commands: Mapping[str, type[CommandArgs]],
        image_events: frozenset[str] = frozenset(),
        streams: Mapping[str, str] | None = None,
    ) -> None:
        self.events = dict(events)
        self.commands = dict(commands)
        self.image_events = image_events
        #: Event name → cloud outbox stream, for events the cloud must get.
        self.streams = dict(streams or {})

    def max_size(self, name: str) -> int:
        return MAX_IMAGE_PAYLOAD if name in self.image_events else MAX_PAYLOAD

    def decode_event(self, name: str, payload: bytes) -> WirePayload:
        """Bytes of ``event/{name}`` → typed payload, or :class:`PayloadError`."""
        model = self.events.get(name)
        if model is None:
            raise PayloadError("unknown_event", f"event {name!r} is not defined for this kind")
        check_size(payload, self.max_size(name))
        return validate_json(model, payload)

    def build_command(self, name: str, args: Mapping[str, Any]) -> CommandArgs:
        """Validate command arguments; :class:`CommandError` names what is wrong."""
        model = self.commands.get(name)
        if model is None:
            known = ", ".join(sorted(self.commands)) or "none"
            raise CommandError(f"unknown command {name!r} (this kind takes: {known})")
        try:
            return model.model_validate(dict(args))
        except ValidationError as exc:
            raise CommandError(f"command {name!r}: {first_error(exc)}") from None

    @staticmethod
    def encode_command(args: CommandArgs, *, id: str, ts: float, expires: float) -> bytes:
        body = {"id": id, "ts": ts, "expires": expires, **args.model_dump(mode="json")}
        return json.dumps(body, separators=(",", ":")).encode()


def check_size(payload: bytes, limit: int) -> None:
    if len(payload) > limit:
        raise PayloadError("too_large", f"{len(payload)} bytes > limit {limit}")


M = TypeVar("M", bound=BaseModel)


def validate_json(model: type[M], payload: bytes) -> M:
    """Parse a JSON object into ``model``, translating pydantic's errors to ours."""
    try:
        return model.model_validate_json(payload)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        kind = errors[0]["type"] if errors else ""
        if kind == "json_invalid":
            raise PayloadError("not_json", str(errors[0]["msg"])) from None
        if kind == "model_type" and not errors[0]["loc"]:
            raise PayloadError("not_object", "payload must be a JSON object") from None
        raise PayloadError("invalid", first_error(exc)) from None


def first_error(exc: ValidationError) -> str:
    """The first validation error as ``field.path: message``."""
    errors = exc.errors(include_url=False)
    if not errors:
        return str(exc)
    err = errors[0]
    where = ".".join(str(p) for p in err["loc"]) or "payload"
    extra = f" ({len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {err['msg']}{extra}"


C = TypeVar("C", bound=DeviceConfig)


class Driver(Generic[C]):
    """One instance per configured device.

    The five methods of the contract; all have defaults:

    1. :meth:`decode` — bytes of a contract ``event/{name}`` topic → typed payload;
    2. :meth:`encode` — typed command arguments → bytes for ``command/{name}``;
    3. :meth:`subscriptions` — extra topic filters in a device's own format;
    4. :meth:`decode_foreign` — bytes on one of those topics → typed payloads;
    5. :meth:`run` — optional long-running work (polling a camera, ...).
    """

    kind: ClassVar[str]
    config_model: ClassVar[type[DeviceConfig]]
    codec: ClassVar[Codec]

    def __init__(self, config: C) -> None:
        self.config = config

    def decode(self, name: str, payload: bytes) -> WirePayload:
        return self.codec.decode_event(name, payload)

    def encode(self, args: CommandArgs, *, id: str, ts: float, expires: float) -> bytes:
        return self.codec.encode_command(args, id=id, ts=ts, expires=expires)

    def subscriptions(self) -> Sequence[str]:
        return ()

    def decode_foreign(self, topic: str, payload: bytes) -> Sequence[tuple[str, BaseModel]]:
        """Decode a message on one of :meth:`subscriptions`; returns (event name, payload)."""
        raise PayloadError("bad_topic", f"{topic} is not a topic of this device")

    async def run(self, ctx: DriverContext) -> None:
        return None
