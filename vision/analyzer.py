"""One camera's frame analysis: items, faces and plates → the camera kind's events.

An :class:`CameraAnalyzer` is called by the camera's pump (``devices/camera/pump.py``)
in a worker thread, one frame at a time per camera, so its small per-camera state
(the last item counts, when a member or plate was last reported) needs no lock.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel

from devices.camera.codec import Items, MemberSeen, PlateSeen
from devices.camera.config import CameraConfig
from devices.camera.pump import Frame
from vision.items.counter import count
from vision.plates.format import parse
from vision.plates.known import KnownPlates

if TYPE_CHECKING:
    from vision.faces.service import FaceService
    from vision.items.detector import ItemDetector
    from vision.plates.reader import PlateReader

Events = list[tuple[str, BaseModel]]


class Repeats:
    """Remembers when a key was last reported, to report it at most once per window."""

    def __init__(self, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.window = window
        self.clock = clock
        self._last: dict[str, float] = {}

    def fresh(self, key: str) -> bool:
        now = self.clock()
        last = self._last.get(key)
        if last is not None and now - last < self.window:
            return False
        self._last[key] = now
        if len(self._last) > 4096:  # forget the oldest half; a camera sees few keys
            for k in sorted(self._last, key=self._last.__getitem__)[:2048]:
                del self._last[k]
        return True


def plate_seen(
    raw: str,
    confidence: float,
    *,
    known: KnownPlates,
    ts: float,
    seq: int,
    camera: str,
    zone: str | None,
) -> PlateSeen:
    """A raw plate read → normalised, format-checked, looked up (shared by every source)."""
    info = parse(raw)
    match = known.lookup(info.plate) if info.valid else None
    k = match.known if match is not None else None
    return PlateSeen(
        ts=ts, seq=seq, plate=info.plate[:16], raw=raw[:32], format=info.kind,
        confidence=max(0.0, min(1.0, confidence)), camera=camera, zone=zone,
        known=match is not None, matched=k.plate if k else None,
        distance=match.distance if match else None, member=k.member if k else None,
        label=k.label if k else None, tier=k.tier if k else None,
        account_manager=k.account_manager if k else None,
    )  # fmt: skip


class CameraAnalyzer:
    def __init__(
        self,
        config: CameraConfig,
        *,
        detector: Callable[[], ItemDetector] | None = None,
        faces: FaceService | None = None,
        plates: Callable[[], PlateReader] | None = None,
        known: KnownPlates | None = None,
    ) -> None:
        self.config = config
        self._detector = detector
        self._faces = faces
        self._plates = plates
        self._known = known if known is not None else KnownPlates()
        self._last_items: dict[str, int] | None = None
        self._repeats = Repeats(config.repeat_s)

    def __call__(self, frame: Frame) -> Sequence[tuple[str, BaseModel]]:
        tasks = self.config.tasks
        events: Events = []
        if "items" in tasks and self._detector is not None:
            events += self._items(frame)
        if "faces" in tasks and self._faces is not None:
            events += self._members(frame)
        if "plates" in tasks and self._plates is not None:
            events += self._plate_events(frame)
        return events

    def _items(self, frame: Frame) -> Events:
        assert self._detector is not None
        cfg = self.config
        counts, review = count(
            self._detector().detect(frame.image),
            min_score=cfg.item_min_score,
            review_below=cfg.item_review_below,
        )
        current = {c.gtin: c.count for c in counts}
        # Only changes are news: a basket on the counter is one event, not two a second.
        if current == self._last_items:
            return []
        self._last_items = current
        total = sum(current.values())
        return [("items", Items(ts=frame.ts, seq=frame.index, counts=counts, total=total,
                                review=review))]  # fmt: skip

    def _members(self, frame: Frame) -> Events:
        assert self._faces is not None
        rgb = np.ascontiguousarray(frame.image[:, :, ::-1])
        out: Events = []
        for m in self._faces.identify(rgb, tolerance=self.config.face_tolerance):
            if m.member is None or not self._repeats.fresh(f"member:{m.member}"):
                continue  # unknown faces leave no trace; known ones once per window
            out.append(("member_seen", MemberSeen(ts=frame.ts, seq=frame.index,
                        member=m.member, score=round(m.score, 4), camera=frame.camera,
                        zone=frame.zone)))  # fmt: skip
        return out

    def _plate_events(self, frame: Frame) -> Events:
        assert self._plates is not None
        out: Events = []
        for r in self._plates().read(frame.image):
            if r.confidence < self.config.plate_min_confidence:
                continue
            seen = plate_seen(r.raw, r.confidence, known=self._known, ts=frame.ts,
                              seq=frame.index, camera=frame.camera, zone=frame.zone)  # fmt: skip
            # Keyed by what it resolved to: a plate that became known since is news.
            if self._repeats.fresh(f"plate:{seen.matched or seen.plate}:{seen.member}"):
                out.append(("plate_seen", seen))
        return out
