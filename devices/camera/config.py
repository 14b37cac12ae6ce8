from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from devices.base import DeviceConfig

Task = Literal["items", "faces", "plates"]


class CameraConfig(DeviceConfig):
    """A camera the hub reads frames from, or one that does its own AI (``onboard_ai``).

    ``source`` is an ``rtsp://`` stream, an ``http(s)://`` snapshot URL (polled), a video
    file or a directory of images (played in name order, e.g. generated test frames).
    """

    kind: Literal["camera"] = "camera"
    source: str | None = None
    #: The camera publishes vision events itself; the hub reads no frames from it.
    onboard_ai: bool = False
    #: What to recognise in its frames.
    tasks: list[Task] = Field(default_factory=lambda: list[Task](["items"]), min_length=1)
    #: Frames analysed per second at most; frames in between are skipped.
    fps: float = Field(default=2.0, gt=0, le=30)
    #: Frames waiting for inference; beyond it the oldest is dropped (and counted), so
    #: results never lag behind the camera.
    queue: int = Field(default=2, ge=1, le=64)
    #: Replay a file or directory source from the start when it ends (demo cameras).
    loop: bool = False
    #: Timeout of one snapshot request or stream (re)connection.
    timeout_s: float = Field(default=5.0, gt=0)
    #: Item detections below this score are not counted ...
    item_min_score: float = Field(default=0.25, ge=0, le=1)
    #: ... and counted ones below this one flag the frame for a person to review.
    item_review_below: float = Field(default=0.5, ge=0, le=1)
    #: Face match threshold (Euclidean distance of dlib's 128-D embeddings); None = the
    #: vision service's default.
    face_tolerance: float | None = Field(default=None, gt=0, lt=1.5)
    #: Plate reads below this OCR confidence are ignored.
    plate_min_confidence: float = Field(default=0.6, ge=0, le=1)
    #: The same member or plate seen again by this camera within this many seconds
    #: raises no new event (a parked car would otherwise be "seen" twice a second).
    repeat_s: float = Field(default=30.0, ge=0)

    @model_validator(mode="after")
    def _source_or_onboard(self) -> CameraConfig:
        if not self.onboard_ai and not self.source:
            raise ValueError("a camera needs a `source` unless it has `onboard_ai = true`")
        return self
