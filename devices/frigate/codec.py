"""Frigate's MQTT messages → the ``camera`` kind's typed vision events. Pure: no I/O.

Two of Frigate's topics (under its ``topic_prefix``, default ``frigate``):

- ``events`` — ``{"type": "new"|"update"|"end", "before": {...}, "after": {...}}`` for
  each tracked object; ``after`` has ``id``, ``camera``, ``label``, ``score``,
  ``current_zones``, ``frame_time``, ... → ``object_seen`` when an object appears
  (``new``), changes zones (``update`` whose ``current_zones`` differ from
  ``before``'s) or leaves (``end``); other updates (a better snapshot) are not news.
- ``tracked_object_update`` — ``{"type": "face", "name", "score", "camera",
  "timestamp", "id"}`` → ``face_recognised``; ``{"type": "lpr", "plate", "name",
  "score", "camera", "timestamp", "id"}`` → ``plate_read``.  Other types (generative
  descriptions, classifications) are ignored.

Unknown fields are ignored; a message that is not JSON, not an object, or lacks a
field we need raises :class:`PayloadError` (→ dead letter).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from devices.base import MAX_IMAGE_PAYLOAD, Codec, WirePayload, check_size, validate_json
from devices.camera.codec import FaceRecognised, ObjectSeen, PlateRead
from devices.frigate.config import FrigateConfig
from hub.errors import PayloadError


class _Lenient(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class TrackedObject(_Lenient):
    id: str
    camera: str
    label: str
    score: float = Field(default=0.0, ge=0, le=1)
    top_score: float | None = None
    false_positive: bool = False
    frame_time: float | None = None
    start_time: float | None = None
    end_time: float | None = None
    current_zones: list[str] = Field(default_factory=list)
    entered_zones: list[str] = Field(default_factory=list)


class EventMessage(_Lenient):
    type: Literal["new", "update", "end"]
    before: TrackedObject | None = None
    after: TrackedObject


class ObjectUpdate(_Lenient):
    """``tracked_object_update``: only the fields every type has."""

    type: str
    id: str | None = None
    camera: str | None = None
    timestamp: float | None = None


class FaceUpdate(_Lenient):
    type: Literal["face"]
    id: str | None = None
    name: str | None = None
    score: float = Field(default=0.0, ge=0, le=1)
    camera: str
    timestamp: float


class LprUpdate(_Lenient):
    type: Literal["lpr"]
    id: str | None = None
    name: str | None = None
    plate: str | None = None
    score: float = Field(default=0.0, ge=0, le=1)
    camera: str
    timestamp: float


Decoded = list[tuple[str, WirePayload]]


def topics(cfg: FrigateConfig) -> tuple[str, str]:
    return f"{cfg.topic_prefix}/events", f"{cfg.topic_prefix}/tracked_object_update"


def decode(cfg: FrigateConfig, topic: str, payload: bytes, seq: int) -> Decoded:
    """One Frigate message → zero or more (event name, payload); ``seq`` numbers them."""
    events, updates = topics(cfg)
    # Older Frigate versions put a base64 thumbnail into events: allow the image limit.
    check_size(payload, MAX_IMAGE_PAYLOAD)
    if topic == events:
        return _event(cfg, validate_json(EventMessage, payload), seq)
    if topic == updates:
        return _update(cfg, payload, seq)
    raise PayloadError("bad_topic", f"{topic} is not a Frigate topic of this device")


def _wanted(cfg: FrigateConfig, camera: str) -> bool:
    return not cfg.cameras or camera in cfg.cameras


def _event(cfg: FrigateConfig, msg: EventMessage, seq: int) -> Decoded:
    obj = msg.after
    if obj.false_positive or not _wanted(cfg, obj.camera):
        return []
    if cfg.labels and obj.label not in cfg.labels:
        return []
    score = max(obj.score, obj.top_score or 0.0)
    if score < cfg.min_score:
        return []
    if msg.type == "update":
        before = msg.before.current_zones if msg.before is not None else []
        if sorted(before) == sorted(obj.current_zones):
            return []  # a better snapshot or a move inside the same zones: not news
    ts = obj.end_time if msg.type == "end" and obj.end_time else obj.frame_time
    payload = ObjectSeen(
        ts=float(ts or obj.start_time or 0.0),
        seq=seq,
        label=obj.label,
        score=score,
        camera=obj.camera,
        zones=[cfg.zones.get(z, z) for z in obj.current_zones],
        object_id=obj.id,
        phase=msg.type,
    )
    return [("object_seen", payload)]


def _update(cfg: FrigateConfig, payload: bytes, seq: int) -> Decoded:
    head = validate_json(ObjectUpdate, payload)
    if head.type == "face":
        face = validate_json(FaceUpdate, payload)
        if not face.name or not _wanted(cfg, face.camera) or face.score < cfg.min_score:
            return []  # an unrecognised face: Frigate names no one, neither do we
        return [
            (
                "face_recognised",
                FaceRecognised(ts=face.timestamp, seq=seq, name=face.name, score=face.score,
                               camera=face.camera, object_id=face.id),
            )
        ]  # fmt: skip
    if head.type == "lpr":
        lpr = validate_json(LprUpdate, payload)
        if not lpr.plate or not _wanted(cfg, lpr.camera) or lpr.score < cfg.min_score:
            return []
        return [
            (
                "plate_read",
                PlateRead(ts=lpr.timestamp, seq=seq, plate=lpr.plate[:32], score=lpr.score,
                          camera=lpr.camera, name=lpr.name, object_id=lpr.id),
            )
        ]  # fmt: skip
    return []  # descriptions, classifications, future types


#: Frigate speaks no contract topics: every event arrives through ``decode``.
CODEC = Codec(events={}, commands={})
