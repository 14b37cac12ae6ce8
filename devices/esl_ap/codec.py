"""Wire payloads of the ``esl_ap`` kind (hub-defined), and the label image format. Pure.

A label image is the panel's *bit planes*, concatenated: plane 0 holds the black
ink, plane 1 (``bwr`` panels only) the red ink; 1 = ink, rows top to bottom,
the most significant bit is the leftmost pixel and every row is padded to a
whole byte.  On the wire it is base64 of either the raw planes or their zlib
stream (e-paper images are mostly white and shrink ~10×).  ``hash`` is
:func:`image_hash` of the *raw* planes: the label recomputes it after
decompressing, so a truncated or corrupted image is refused, and it reports
it back on every check-in so the hub knows what the label shows.

Both the hub (``hub/esl``) and the simulator (``simulators/esl_ap.py``) use
these helpers, so the two cannot disagree on the format.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import zlib
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from devices.base import Codec, CommandArgs, WirePayload

LabelId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")]
ImageHash = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
Colors = Literal["bw", "bwr"]
Encoding = Literal["raw", "zlib"]
Status = Literal["ok", "retry", "failed"]

#: Largest panel side the format allows (a 13.3" label is 1600 × 1200).
MAX_SIDE = 2048


class ImageError(ValueError):
    """An image that does not decode, or does not fit its panel."""


def plane_count(colors: Colors) -> int:
    return 2 if colors == "bwr" else 1


def image_size(width: int, height: int, colors: Colors) -> int:
    """Bytes of the raw planes of a ``width`` × ``height`` panel."""
    return (width + 7) // 8 * height * plane_count(colors)


def image_hash(planes: bytes) -> str:
    """What a label reports it shows: 128 bits of SHA-256 of the raw planes, hex."""
    return hashlib.sha256(planes).hexdigest()[:32]


def encode_image(planes: bytes, encoding: Encoding = "zlib") -> str:
    data = zlib.compress(planes, 6) if encoding == "zlib" else planes
    return base64.b64encode(data).decode("ascii")


def decode_image(image: str, encoding: Encoding, *, limit: int) -> bytes:
    """The raw planes of an ``update``; :class:`ImageError` if they do not decode or
    would exceed ``limit`` bytes (a zlib bomb is cut off, not inflated)."""
    try:
        data = base64.b64decode(image, validate=True)
    except (binascii.Error, ValueError):
        raise ImageError("image is not valid base64") from None
    if encoding == "raw":
        return data
    inflater = zlib.decompressobj()
    try:
        planes = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise ImageError(f"image is not a zlib stream: {exc}") from None
    if len(planes) > limit or not inflater.eof:
        raise ImageError("image is larger than the panel")
    return planes


# -- events (AP → hub) ----------------------------------------------------------


class _Row(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", strict=True)


class LabelCheckin(_Row):
    """One label that woke up and talked to its AP."""

    label: LabelId
    battery_mv: int = Field(ge=0, le=10_000)
    rssi: float = Field(ge=-150, le=20)
    lqi: int = Field(ge=0, le=255)
    temp_c: float | None = None
    #: The image hash the label shows; null = blank (new or reset label).
    hash: ImageHash | None = None
    #: Seconds until the label's next expected check-in.
    next_s: float = Field(gt=0, le=7 * 86_400)
    fw: str | None = Field(default=None, max_length=64)
    #: Panel the label reports (so the hub can render for it before it is bound).
    width: int | None = Field(default=None, ge=1, le=MAX_SIDE)
    height: int | None = Field(default=None, ge=1, le=MAX_SIDE)
    colors: Colors | None = None


class Checkin(WirePayload):
    """Labels that checked in since the AP's last report (an AP batches them)."""

    labels: list[LabelCheckin] = Field(min_length=1, max_length=500)


class LabelResult(_Row):
    label: LabelId
    #: The hash the update carried.
    hash: ImageHash
    #: ``ok``: shown; ``retry``: not delivered this time (radio, label busy);
    #: ``failed``: the label refused it (``reason``: bad_size, bad_hash, battery, ...).
    status: Status
    reason: str | None = Field(default=None, max_length=200)


class Results(WirePayload):
    """Outcomes of updates the AP accepted earlier."""

    results: list[LabelResult] = Field(min_length=1, max_length=2000)


# -- commands (hub → AP) ----------------------------------------------------------


class LabelUpdate(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    label: LabelId
    hash: ImageHash
    width: int = Field(ge=1, le=MAX_SIDE)
    height: int = Field(ge=1, le=MAX_SIDE)
    colors: Colors
    encoding: Encoding = "zlib"
    image: str = Field(min_length=4)


class Update(CommandArgs):
    """Show these images. The reply lists ``accepted`` labels, ``rejected``
    ``[{"label", "reason"}]`` (``capacity``, ``unknown_label``, ...) and ``free``
    slots; outcomes follow later in ``results`` events."""

    updates: list[LabelUpdate] = Field(min_length=1, max_length=1000)


class Led(CommandArgs):
    """Flash a label's LED so staff find the shelf (locate, pick)."""

    label: LabelId
    color: Literal["red", "green", "blue", "white"] = "green"
    pattern: Literal["flash", "solid"] = "flash"
    seconds: int = Field(default=10, ge=1, le=600)


CODEC = Codec(
    events={"checkin": Checkin, "results": Results},
    commands={"update": Update, "led": Led},
    streams={"results": "device_health"},
)
