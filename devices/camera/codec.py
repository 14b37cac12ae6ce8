"""Vision events of the ``camera`` kind. Pure: no I/O.

The hub's own pipelines (``vision/``) produce these for cameras it reads frames from;
a camera that does its own AI publishes the same payloads on the contract's event
topics.  The ``frigate`` kind produces them too, so rules need not care where a
recognition came from.

``plate_read`` and ``face_recognised`` are *raw* results of another system's
recogniser (an LPR camera, Frigate): the hub's vision plugin resolves them into
``plate_seen`` (normalised, format-checked, looked up among known plates) and
``member_seen`` (only for members with recorded, active face consent).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from devices.base import Codec, WirePayload


class ItemCount(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", strict=True)

    gtin: str = Field(pattern=r"^[0-9]{14}$")
    count: int = Field(ge=1)
    #: The lowest detection score among this SKU's items in the frame.
    score: float = Field(ge=0, le=1)


class Items(WirePayload):
    """What a checkout camera counts in one frame ("checkout by camera")."""

    counts: list[ItemCount] = Field(max_length=500)
    total: int = Field(ge=0)
    #: A detection was too unsure to charge for: a person must look (never a silent guess).
    review: bool = False


class MemberSeen(WirePayload):
    """An enrolled, consenting member recognised by face."""

    member: str = Field(min_length=1, max_length=64)
    score: float = Field(ge=0, le=1)
    camera: str
    zone: str | None = None


class PlateSeen(WirePayload):
    """A licence plate read, normalised and looked up among the store's known plates."""

    plate: str = Field(min_length=1, max_length=16)
    #: What the recogniser read before normalisation.
    raw: str = ""
    #: ``ordinary``, ``new_energy_small``, ``new_energy_large``, ``special`` or ``invalid``.
    format: str = "invalid"
    confidence: float = Field(ge=0, le=1)
    camera: str
    zone: str | None = None
    known: bool = False
    #: The known plate it matched (may differ from ``plate`` by ``distance`` edits).
    matched: str | None = None
    distance: float | None = None
    member: str | None = None
    label: str | None = None
    tier: str | None = None
    account_manager: str | None = None


class ObjectSeen(WirePayload):
    """An object (person, car, ...) tracked by a camera's own AI, in some zones."""

    label: str = Field(min_length=1, max_length=64)
    score: float = Field(ge=0, le=1)
    camera: str
    zones: list[str] = Field(default_factory=list, max_length=64)
    object_id: str | None = None
    #: ``new``, ``update`` (zone change) or ``end`` (the object left the view).
    phase: str = "new"


class PlateRead(WirePayload):
    """A raw plate read by another system's recogniser (resolved into ``plate_seen``)."""

    plate: str = Field(min_length=1, max_length=32)
    score: float = Field(ge=0, le=1)
    camera: str
    #: The recogniser's own name for a plate it knows (Frigate's ``known_plates``).
    name: str | None = None
    object_id: str | None = None


class FaceRecognised(WirePayload):
    """A raw face match by another system's recogniser (resolved into ``member_seen``)."""

    name: str = Field(min_length=1, max_length=128)
    score: float = Field(ge=0, le=1)
    camera: str
    object_id: str | None = None


EVENTS: dict[str, type[WirePayload]] = {
    "items": Items,
    "member_seen": MemberSeen,
    "plate_seen": PlateSeen,
    "object_seen": ObjectSeen,
    "plate_read": PlateRead,
    "face_recognised": FaceRecognised,
}

# No outbox stream: what cameras see stays in the store (faces and plates are personal data).
CODEC = Codec(events=EVENTS, commands={})
