"""Codec for Zebra IoT Connector tag data events (FX7500, FX9600, ATR7000). Pure: no I/O.

The IoT Connector on a Zebra fixed reader publishes each tag read on its data
endpoint (MQTT, HTTP POST or WebSocket) as a JSON *tag data event*::

    {"data": {"eventNum": 1, "format": "epc", "idHex": "3074257bf7194e4000001a85",
              "antenna": 1, "peakRssi": -54, "reads": 1, "channel": 922.25},
     "timestamp": "2019-04-16T11:51:29.364+0000", "type": "SIMPLE"}

With tag data *batching* enabled (the default for HTTP POST, off for MQTT) the
reader groups several events into one message, a JSON array of such objects.
``timestamp`` is ISO 8601 with an offset written without a colon (``+0000``);
``type`` is the operating mode (``SIMPLE``, ``INVENTORY``, ``PORTAL``, ``CUSTOM``,
...). Which members ``data`` carries depends on the mode's ``tagMetaData``;
a gate needs ``ANTENNA`` and ``RSSI`` enabled, so ``antenna`` and ``peakRssi``
are required here. Optional members we keep: ``eventNum``, ``channel``,
``reads`` (seen count), ``userDefined``, ``TID`` and ``MAC``. Sources and
examples: ``docs/rfid.md``.

:func:`decode_zebra` takes one message and returns its reads, or raises
:class:`ZebraPayloadError` naming the element and field at fault; the caller
dead-letters the whole message. :func:`encode_zebra` writes the same shapes for
the simulator, so the two cannot drift.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Final

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

__all__ = ["ZebraPayloadError", "ZebraRead", "decode_zebra", "encode_zebra"]

_HexEpc = Annotated[str, StringConstraints(pattern=r"^[0-9A-Fa-f]{4,124}$")]
_MODEL_CONFIG: Final = ConfigDict(frozen=True, extra="ignore", strict=True)


class ZebraPayloadError(ValueError):
    """A Zebra message that cannot be decoded.

    ``reason`` is a short code for counting: ``not_json`` (not UTF-8 JSON),
    ``not_object`` (neither an event object nor an array of them),
    ``invalid`` (an event misses a member or has a wrong type); ``detail``
    names the element and field.
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class ZebraRead:
    """One tag read from a Zebra tag data event."""

    #: EPC as upper-case hex (``data.idHex``).
    epc: str
    #: Antenna port (``data.antenna``).
    antenna: int
    #: Peak RSSI in dBm since the previous report (``data.peakRssi``).
    rssi: float
    #: Epoch seconds of the event's ``timestamp``.
    ts: float
    #: The event's ``type``: the reader's operating mode, e.g. ``"SIMPLE"``.
    event_type: str
    #: ``data.eventNum``, the reader's running event counter.
    event_num: int | None = None
    #: ``data.channel``, carrier frequency in MHz (only when every read is reported).
    channel: float | None = None
    #: ``data.reads``, how often the tag was seen since the previous report.
    reads: int | None = None
    #: ``data.userDefined``, a string configured in the operating mode.
    user_defined: str | None = None
    #: ``data.TID``, the TID bank as hex, when read.
    tid: str | None = None
    #: ``data.MAC``, the reader's MAC address, when enabled.
    mac: str | None = None


class _TagData(BaseModel):
    model_config = _MODEL_CONFIG

    id_hex: _HexEpc = Field(alias="idHex")
    antenna: int = Field(ge=0)
    peak_rssi: float = Field(alias="peakRssi", allow_inf_nan=False)
    event_num: int | None = Field(default=None, alias="eventNum")
    channel: float | None = Field(default=None, allow_inf_nan=False)
    reads: int | None = Field(default=None, ge=0)
    user_defined: str | None = Field(default=None, alias="userDefined")
    tid: str | None = Field(default=None, validation_alias=AliasChoices("TID", "tid"))
    mac: str | None = Field(default=None, validation_alias=AliasChoices("MAC", "mac"))


class _TagDataEvent(BaseModel):
    model_config = _MODEL_CONFIG

    data: _TagData
    timestamp: float
    type: str

    @field_validator("timestamp", mode="plain")
    @classmethod
    def _epoch_seconds(cls, value: Any) -> float:
        if not isinstance(value, str):
            raise ValueError("timestamp must be an ISO 8601 string")
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"timestamp {value!r} is not ISO 8601") from None
        if parsed.tzinfo is None:
            raise ValueError(f"timestamp {value!r} has no UTC offset")
        return parsed.timestamp()


def decode_zebra(payload: bytes) -> list[ZebraRead]:
    """Decode one IoT Connector data message: an event object or an array of them.

    Raises :class:`ZebraPayloadError` if the message, or any event in it, is malformed.
    """
    try:
        document = json.loads(payload)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise ZebraPayloadError("not_json", str(exc)) from None
    if isinstance(document, dict):
        return [_read(document, "event")]
    if isinstance(document, list):
        return [_read(element, f"element {index}") for index, element in enumerate(document)]
    raise ZebraPayloadError(
        "not_object", f"expected an event object or an array, got {_kind(document)}"
    )


def encode_zebra(reads: Sequence[ZebraRead], *, batch: bool) -> bytes:
    """Write reads as IoT Connector tag data events, as a reader would publish them.

    ``batch=True`` gives a JSON array of events (batching on); ``batch=False``
    gives one event object and needs exactly one read.
    """
    events = [_event(read, index) for index, read in enumerate(reads, start=1)]
    if batch:
        return _dumps(events)
    if len(events) != 1:
        raise ValueError(f"an unbatched message holds exactly one read, got {len(events)}")
    return _dumps(events[0])


def _read(element: object, where: str) -> ZebraRead:
    if not isinstance(element, dict):
        raise ZebraPayloadError("not_object", f"{where}: expected an object, got {_kind(element)}")
    try:
        event = _TagDataEvent.model_validate(element)
    except ValidationError as exc:
        raise ZebraPayloadError("invalid", f"{where}: {_explain(exc)}") from None
    data = event.data
    return ZebraRead(
        epc=data.id_hex.upper(),
        antenna=data.antenna,
        rssi=data.peak_rssi,
        ts=event.timestamp,
        event_type=event.type,
        event_num=data.event_num,
        channel=data.channel,
        reads=data.reads,
        user_defined=data.user_defined,
        tid=data.tid,
        mac=data.mac,
    )


def _explain(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        location = ".".join(str(part) for part in error["loc"]) or "(event)"
        problems.append(f"{location}: {error['msg']}")
    return "; ".join(problems)


def _kind(value: object) -> str:
    if value is None:
        return "null"
    return {list: "an array", dict: "an object", str: "a string", bool: "a boolean"}.get(
        type(value), "a number"
    )


def _event(read: ZebraRead, index: int) -> dict[str, object]:
    data: dict[str, object] = {
        "eventNum": read.event_num if read.event_num is not None else index,
        "format": "epc",
        "idHex": read.epc.lower(),
        "antenna": read.antenna,
        "peakRssi": _number(read.rssi),
    }
    if read.channel is not None:
        data["channel"] = read.channel
    if read.reads is not None:
        data["reads"] = read.reads
    if read.user_defined is not None:
        data["userDefined"] = read.user_defined
    if read.tid is not None:
        data["TID"] = read.tid
    if read.mac is not None:
        data["MAC"] = read.mac
    return {"data": data, "timestamp": _timestamp(read.ts), "type": read.event_type}


def _number(value: float) -> int | float:
    return int(value) if value.is_integer() else value


def _timestamp(ts: float) -> str:
    """Zebra's form: milliseconds and a colon-less offset, ``2019-04-16T11:51:29.364+0000``."""
    millis = round(ts * 1000)
    moment = datetime.fromtimestamp(millis // 1000, UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{millis % 1000:03d}+0000"


def _dumps(document: object) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()
