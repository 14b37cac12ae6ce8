"""The vision service a hub provides (``hub.service(VisionService)``).

    faces      FaceService: consent, enrolment, withdrawal, retention, identification
    plates     KnownPlates: members' cars, tolerant lookup
    detector() ItemDetector (loaded on first use: the model file is optional)
    reader()   PlateReader (RapidOCR, loaded on first use)
    analyzer_for(camera) → the callable a camera's pump runs on each frame
    resolve(event) → plate_seen / member_seen for another system's raw recognitions

Settings come from the environment (``STOREHUB_VISION_*``), so the store file's
schema needs no vision section.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from devices.camera.codec import FaceRecognised, MemberSeen, PlateRead, PlateSeen
from devices.camera.config import CameraConfig
from hub.events import DeviceEvent
from hub.journal import Journal
from vision.analyzer import CameraAnalyzer, plate_seen
from vision.faces.service import FaceService, FaceSettings
from vision.items.detector import DEFAULT_MODEL, ItemDetector
from vision.plates import known as known_plates
from vision.plates.known import KnownPlate, KnownPlates, normalised_known
from vision.plates.reader import PlateReader


class VisionSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STOREHUB_VISION_", extra="ignore")

    #: The item detector: ``.onnx`` runs on ONNX Runtime, anything else via ultralytics.
    item_model: Path = DEFAULT_MODEL
    item_engine: str = Field(default="auto", pattern="^(auto|onnx|ultralytics)$")
    #: Threads analysing frames for all cameras together.
    workers: int = Field(default=1, ge=1, le=16)
    #: ONNX Runtime threads per inference (1: cameras share the CPU without spinning).
    item_threads: int = Field(default=1, ge=1, le=16)
    face_tolerance: float = Field(default=0.5, gt=0, lt=1.5)
    face_retention_days: float = Field(default=365, gt=0)
    face_upsample: int = Field(default=0, ge=0, le=2)
    #: Edits (confusable characters count half) a read may differ from a known plate by.
    plate_max_distance: float = Field(default=1.0, ge=0, le=3)


class VisionService:
    def __init__(
        self,
        journal: Journal,
        data_dir: Path,
        *,
        settings: VisionSettings | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = s = settings or VisionSettings()
        self.journal = journal
        self.clock = clock
        self.faces = FaceService(
            journal,
            data_dir,
            settings=FaceSettings(tolerance=s.face_tolerance, retention_days=s.face_retention_days,
                                  upsample=s.face_upsample),
            clock=clock,
        )  # fmt: skip
        self.plates = KnownPlates(max_distance=s.plate_max_distance)
        self._detector: ItemDetector | None = None
        self._reader: PlateReader | None = None
        self._lazy = threading.Lock()

    async def load(self) -> None:
        await self.faces.load()
        for p in await self.journal.call(known_plates.load):
            self.plates.put(p)

    # -- models, loaded on first use (from a worker thread) ----------------------

    def detector(self) -> ItemDetector:
        with self._lazy:
            if self._detector is None:
                s = self.settings
                self._detector = ItemDetector.load(
                    s.item_model, engine=s.item_engine, threads=s.item_threads
                )
            return self._detector

    def reader(self) -> PlateReader:
        with self._lazy:
            if self._reader is None:
                self._reader = PlateReader()
            return self._reader

    def analyzer_for(self, camera: CameraConfig) -> CameraAnalyzer:
        return CameraAnalyzer(
            camera, detector=self.detector, faces=self.faces, plates=self.reader,
            known=self.plates,
        )  # fmt: skip

    # -- known plates --------------------------------------------------------------

    async def add_plate(
        self,
        plate: str,
        *,
        member: str | None = None,
        label: str | None = None,
        tier: str | None = None,
        account_manager: str | None = None,
    ) -> KnownPlate:
        known = normalised_known(plate, member=member, label=label, tier=tier,
                                 account_manager=account_manager, clock=self.clock)  # fmt: skip
        await self.journal.call(lambda c: known_plates.save(c, known))
        self.plates.put(known)
        return known

    async def remove_plate(self, plate: str) -> bool:
        info = normalised_known(plate).plate
        await self.journal.call(lambda c: known_plates.delete(c, info))
        return self.plates.remove(info)

    # -- other systems' recognitions ------------------------------------------------

    def resolve(self, event: DeviceEvent) -> tuple[str, BaseModel] | None:
        """A ``plate_read`` → ``plate_seen``; a ``face_recognised`` → ``member_seen``
        when the name is a member enrolled here under an active consent, else nothing
        (a face another system recognised is not ours to report without consent)."""
        p = event.payload
        if isinstance(p, PlateRead):
            seen: PlateSeen = plate_seen(
                p.plate, p.score, known=self.plates, ts=p.ts, seq=p.seq, camera=p.camera,
                zone=event.zone,
            )  # fmt: skip
            return "plate_seen", seen
        if isinstance(p, FaceRecognised):
            if not self.faces.has_consent(p.name):
                return None
            return "member_seen", MemberSeen(ts=p.ts, seq=p.seq, member=p.name, score=p.score,
                                             camera=p.camera, zone=event.zone)  # fmt: skip
        return None
