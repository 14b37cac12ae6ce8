"""Wire models of the cloud sync protocol (docs/sync.md), shared by the hub and the
reference backend (``simulators/cloud``) so the two cannot drift.

Outbox (store → cloud)::

    POST /v1/stores/{store}/outbox   UploadBatch (gzip)  →  200 UploadResponse
                                                          409 GapResponse
    GET  /v1/stores/{store}/heads?origin=O               →  200 HeadsResponse

Inbox (cloud → store)::

    GET  /v1/stores/{store}/changes?after=V&limit=N&wait=S  →  200 ChangesPage | 304
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, NotRequired

from pydantic import BaseModel, ConfigDict, Field, JsonValue, TypeAdapter, ValidationError
from typing_extensions import TypedDict

#: Version of the protocol, sent as ``Storehub-Sync`` on every request.
PROTOCOL_VERSION = "1"

AckStatus = Literal["stored", "duplicate", "rejected", "accepted"]
ChangeOp = Literal["upsert", "delete"]


class Wire(BaseModel):
    # Unknown fields are ignored, as in the store's wire contract: either side
    # may add fields without breaking the other.
    model_config = ConfigDict(frozen=True, extra="ignore")


class Record(Wire):
    """One outbox row on its way to the cloud."""

    #: Idempotency key, unique per store: ``{store}:{origin}:{seq}``.
    key: str = Field(min_length=1, max_length=200)
    stream: str = Field(min_length=1, max_length=64)
    #: The outbox row id: grows within a stream, with gaps (other streams, dropped rows).
    seq: int = Field(ge=1)
    #: ``seq`` of the record of this stream the cloud must already hold (0: none).
    prev: int = Field(ge=0)
    #: When the hub wrote the row (epoch seconds).
    created: float
    data: JsonValue


class UploadBatch(Wire):
    #: Identifies the store's database: a restored or replaced hub gets a new origin,
    #: so its fresh row ids never collide with the old ones.
    origin: str = Field(min_length=1, max_length=64)
    records: list[Record] = Field(min_length=1)


class OutgoingRecord(NamedTuple):
    """A :class:`Record` as the store holds it: ``data`` is the row's JSON text."""

    key: str
    stream: str
    seq: int
    prev: int
    created: float
    data: str


#: Strings that need no JSON escaping (ids, hex origins, stream names as used).
_PLAIN = re.compile(r"^[A-Za-z0-9_.:\-]*$")


def _quote(text: str) -> str:
    return f'"{text}"' if _PLAIN.match(text) else json.dumps(text)


@dataclass(frozen=True, slots=True)
class OutgoingBatch:
    """A batch on its way out.  :meth:`to_json` splices each row's JSON in as it is —
    no parse and re-dump on the hot path; a row that is not valid JSON makes the
    cloud refuse the batch, and the uploader bisects down to that row.
    :meth:`to_model` gives the validated :class:`UploadBatch` to adapters that want one."""

    origin: str
    records: list[OutgoingRecord]

    def to_json(self) -> bytes:
        quoted: dict[str, str] = {}  # streams repeat: quote each once
        parts: list[str] = []
        for key, stream, seq, prev, created, data in self.records:
            s = quoted.get(stream) or quoted.setdefault(stream, _quote(stream))
            parts.append(
                f'{{"key":{_quote(key)},"stream":{s},"seq":{seq:d},"prev":{prev:d},'
                f'"created":{created!r},"data":{data}}}'
            )
        return f'{{"origin":{_quote(self.origin)},"records":[{",".join(parts)}]}}'.encode()

    def to_model(self) -> UploadBatch:
        """Raises pydantic's ``ValidationError`` if a row's data is not JSON."""
        return UploadBatch.model_validate_json(self.to_json())


@dataclass(frozen=True, slots=True)
class RecordAck:
    """The cloud's word on one record.

    ``stored`` (new), ``duplicate`` (already held: not applied again), ``rejected``
    (will never be accepted; ``reason`` says why), ``accepted`` (custody taken by a
    transport that cannot tell stored from duplicate, e.g. an MQTT bridge)."""

    key: str
    status: AckStatus
    reason: str | None = None


class UploadResponse(Wire):
    acks: list[RecordAck]


class _AckWire(TypedDict):
    key: str
    status: AckStatus
    reason: NotRequired[str | None]


class _AcksWire(TypedDict):
    acks: list[_AckWire]


# The hot path of every upload: a TypedDict validates the reply as strictly as the
# model and several times faster than building a model per acknowledgement.
_ACKS: TypeAdapter[_AcksWire] = TypeAdapter(_AcksWire)


def parse_acks(body: bytes) -> list[RecordAck]:
    """An :class:`UploadResponse` body; pydantic's ``ValidationError`` if it is not one."""
    return [
        RecordAck(a["key"], a["status"], a.get("reason")) for a in _ACKS.validate_json(body)["acks"]
    ]


class GapResponse(Wire):
    error: Literal["gap"] = "gap"
    #: The cloud's last accepted ``seq`` per stream of the refused batch.
    heads: dict[str, int]


class HeadsResponse(Wire):
    origin: str
    heads: dict[str, int]


class Change(Wire):
    """One thing HQ published for the store: a catalog item, a price, a member, ..."""

    #: Grows strictly across the store's feed (gaps allowed); the store's cursor.
    version: int = Field(ge=1)
    #: Selects the applier: ``catalog.item``, ``price``, ``promotion``, ``member``,
    #: ``plate``, ``device``, or any type an extension registers.
    type: str = Field(min_length=1, max_length=64)
    #: What the change is about within its type (a GTIN, a member id, a plate, ...).
    key: str = Field(min_length=1, max_length=200)
    op: ChangeOp = "upsert"
    data: dict[str, JsonValue] = Field(default_factory=dict)
    published: float | None = None


class InvalidChange(Wire):
    """A change of a page that does not even parse as a :class:`Change`; it is
    quarantined in its place in version order, not allowed to block the page."""

    version: int
    type: str = "?"
    key: str = "?"
    raw: JsonValue
    reason: str


class ChangesPage(Wire):
    changes: list[Change]
    #: The version to ask after next time (the last change's, or the request's ``after``).
    cursor: int = Field(ge=0)
    #: More changes are waiting beyond this page: ask again at once.
    more: bool = False
    #: Filled by :func:`parse_changes_page`, never sent.
    invalid: list[InvalidChange] = Field(default_factory=list, exclude=True)


class PageError(ValueError):
    """A changes page that is unusable: not JSON, no cursor, a change without a version."""


def parse_changes_page(body: bytes) -> ChangesPage:
    """Parse a page leniently: one bad change is set aside as :class:`InvalidChange`."""
    try:
        raw = json.loads(body)
        cursor = raw["cursor"]
        items = raw["changes"]
        if not isinstance(cursor, int) or not isinstance(items, list):
            raise TypeError("cursor must be an integer and changes a list")
    except (ValueError, KeyError, TypeError) as exc:
        raise PageError(f"bad changes page: {exc}") from None
    good: list[Change] = []
    bad: list[InvalidChange] = []
    for item in items:
        try:
            good.append(Change.model_validate(item))
        except ValidationError as exc:
            version = item.get("version") if isinstance(item, dict) else None
            if not isinstance(version, int):
                raise PageError(f"a change without an integer version: {item!r:.200}") from None
            bad.append(
                InvalidChange(
                    version=version,
                    type=str(_get(item, "type")),
                    key=str(_get(item, "key")),
                    raw=item,
                    reason=validation_reason(exc),
                )
            )
    return ChangesPage(changes=good, cursor=cursor, more=bool(raw.get("more")), invalid=bad)


def _get(item: dict[str, Any], name: str) -> object:
    return item.get(name, "?")


def validation_reason(exc: ValidationError) -> str:
    """The first error of a pydantic validation, as ``field: message``."""
    err = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in err["loc"]) or "(value)"
    return f"{where}: {err['msg']}"


def record_key(store: str, origin: str, seq: int) -> str:
    return f"{store}:{origin}:{seq}"
