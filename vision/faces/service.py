"""Shopper recognition by face, for members who chose it — and nobody else.

    consent ──▶ enrol (images ▶ one face each ▶ 128-D embedding ▶ sealed ▶ vision_faces)
    frame ──▶ detect ▶ embed ▶ match against the enrolled only ▶ member_seen | discard
    withdraw ──▶ consent marked withdrawn + that member's embeddings deleted, at once
    retention ──▶ embeddings older than ``retention_days`` deleted (hourly purge)

Rules this module keeps (PIPL art. 26–30, GDPR art. 9):

- **Separate consent.** Enrolment needs an active consent for ``face_recognition``
  (who, when, by whom, through which channel, which text version); a withdrawal
  deletes the embeddings in the same transaction.  The app QR code stays the
  alternative: nothing else in the store depends on a face.
- **Nothing kept about people who did not enrol.** When nobody is enrolled no face is
  even detected.  Otherwise a face's embedding exists only inside :meth:`identify`,
  long enough to compare it with the enrolled ones, and is then dropped: it is never
  stored, logged, journaled or emitted.  Unknown faces produce no event at all.
- **Local and encrypted.** Embeddings are sealed with a key outside the database
  (:mod:`vision.faces.crypto`); they never enter the journal's outbox, so cloud sync
  never sees them.  Events carry a member id and a score, not biometrics.
"""

from __future__ import annotations

import asyncio
import io
import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError
from pydantic import BaseModel, ConfigDict, Field

from hub.journal import Entry, Journal
from vision.errors import ConsentError, ImageError, NoFace
from vision.faces import records
from vision.faces.crypto import Sealer, load_key
from vision.faces.engine import Embedding, FaceBox, FaceEngine, Image8, distances
from vision.faces.records import FACE_PURPOSE, Consent

#: Largest image accepted for enrolment.
MAX_IMAGE_BYTES = 8 * 1024 * 1024


class FaceSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Largest embedding distance that still counts as the same person.  dlib suggests
    #: 0.6; 0.5 trades a few missed members for fewer false matches.
    tolerance: float = Field(default=0.5, gt=0, lt=1.5)
    #: Days an enrolment is kept before it is deleted (members re-enrol after).
    retention_days: float = Field(default=365, gt=0)
    #: HOG detector upsampling: 1 finds faces half as large, at about 3× the time.
    upsample: int = Field(default=0, ge=0, le=2)
    max_images: int = Field(default=5, ge=1, le=20)


@dataclass(frozen=True, slots=True)
class FaceMatch:
    """A face in a frame: the member it is, or ``member=None`` — explicitly unknown."""

    member: str | None
    distance: float
    box: FaceBox

    @property
    def score(self) -> float:
        """1 − distance, clipped to 0..1 (same person: typically above 0.5)."""
        return float(min(1.0, max(0.0, 1.0 - self.distance)))


@dataclass(frozen=True, slots=True)
class _Gallery:
    members: tuple[str, ...]
    vectors: np.ndarray  # (n, 128) float32


class FaceService:
    def __init__(
        self,
        journal: Journal,
        data_dir: Path,
        *,
        settings: FaceSettings | None = None,
        clock: Callable[[], float] = time.time,
        engine: FaceEngine | None = None,
    ) -> None:
        self.journal = journal
        self.settings = settings or FaceSettings()
        self.clock = clock
        self._sealer = Sealer(load_key(data_dir))
        self._engine = engine
        # dlib's objects are used by one thread at a time.
        self._engine_lock = threading.Lock()
        self._gallery = _Gallery((), np.zeros((0, 128), np.float32))
        #: Members with an active face consent (also those enrolled elsewhere, e.g. in
        #: a Frigate face library, whose recognitions we may then pass on).
        self._consenting: set[str] = set()

    # -- the engine ------------------------------------------------------------

    def engine(self) -> FaceEngine:
        if self._engine is None:
            self._engine = FaceEngine(upsample=self.settings.upsample)
        return self._engine

    @property
    def enrolled(self) -> int:
        """Embeddings in memory (several per member when they gave several images)."""
        return len(self._gallery.members)

    def members(self) -> set[str]:
        """Members with embeddings here."""
        return set(self._gallery.members)

    def has_consent(self, member: str) -> bool:
        return member in self._consenting

    async def load(self) -> None:
        """Read the valid embeddings into memory (decrypting them)."""
        now = self.clock()
        rows = await self.journal.call(lambda c: records.faces(c, now))
        members = tuple(r[1] for r in rows)
        vectors = [self._sealer.open(r[3]) for r in rows]
        stacked = np.stack(vectors) if vectors else np.zeros((0, 128), np.float32)
        self._gallery = _Gallery(members, stacked.astype(np.float32))
        active = await self.journal.call(lambda c: records.consents(c))
        self._consenting = {c.member for c in active if c.active and c.purpose == FACE_PURPOSE}

    # -- consent ---------------------------------------------------------------

    async def grant(
        self, member: str, *, text_version: str, by: str, channel: str = "counter"
    ) -> Consent:
        """Record the member's consent to face recognition (a new record each time)."""
        now = self.clock()
        consent = await self.journal.call(
            lambda c: records.insert_consent(
                c, member, FACE_PURPOSE, text_version, now, by, channel
            )
        )
        self._consenting.add(member)
        await self._journal("consent_granted", member, text_version=text_version, by=by,
                            channel=channel)  # fmt: skip
        return consent

    async def withdraw(self, member: str, *, by: str) -> int:
        """Withdraw the consent and delete the member's embeddings; returns how many."""
        now = self.clock()
        deleted = await self.journal.call(
            lambda c: records.withdraw(c, member, FACE_PURPOSE, now, by)
        )
        self._drop(lambda m: m == member)
        self._consenting.discard(member)
        await self._journal("consent_withdrawn", member, by=by, deleted=deleted)
        return deleted

    async def consent(self, member: str) -> Consent | None:
        return await self.journal.call(lambda c: records.active_consent(c, member, FACE_PURPOSE))

    async def consents(self, member: str | None = None) -> list[Consent]:
        return await self.journal.call(lambda c: records.consents(c, member))

    # -- enrolment -------------------------------------------------------------

    async def enrol(self, member: str, images: Sequence[bytes]) -> int:
        """Enrol ``member`` from images showing exactly one face each; returns the number
        of embeddings stored.  :class:`ConsentError` without an active consent (and
        then no image is even looked at)."""
        consent = await self.consent(member)
        if consent is None:
            raise ConsentError(f"member {member!r} has no active consent to face recognition")
        if not images or len(images) > self.settings.max_images:
            raise ImageError(f"give 1 to {self.settings.max_images} images")
        vectors = await asyncio.to_thread(self._embed_enrolment, list(images))
        now = self.clock()
        expires = now + self.settings.retention_days * 86400
        sealed = [self._sealer.seal(v) for v in vectors]
        ids = await self.journal.call(
            lambda c: [records.insert_face(c, member, consent.id, now, expires, s) for s in sealed]
        )
        if not all(ids):
            raise ConsentError(f"member {member!r} withdrew consent during enrolment")
        self._add(member, vectors)
        await self._journal("face_enrolled", member, images=len(vectors))
        return len(vectors)

    def _embed_enrolment(self, images: list[bytes]) -> list[Embedding]:
        out = []
        for i, data in enumerate(images):
            rgb = decode_rgb(data)
            with self._engine_lock:
                engine = self.engine()
                boxes = engine.detect(rgb)
                if len(boxes) != 1:
                    # Upsampling finds the small face of a distant shot.
                    boxes = boxes or engine.detect(rgb, upsample=1)
                if len(boxes) != 1:
                    raise NoFace(f"image {i + 1}: {len(boxes)} faces found, need exactly one")
                out.append(engine.embed(rgb, boxes[0]))
        return out

    # -- retention -------------------------------------------------------------

    async def purge(self) -> int:
        """Delete embeddings past their retention; returns how many."""
        now = self.clock()
        deleted = await self.journal.call(lambda c: records.purge_expired(c, now))
        if deleted:
            await self.load()
            await self._journal("faces_purged", None, deleted=deleted)
        return deleted

    # -- recognition (worker thread) --------------------------------------------

    def identify(self, rgb: Image8, *, tolerance: float | None = None) -> list[FaceMatch]:
        """Faces in ``rgb`` matched against the enrolled members.  Blocking.

        With nobody enrolled nothing is detected.  Probe embeddings live only inside
        this call."""
        gallery = self._gallery
        if not gallery.members:
            return []
        tol = self.settings.tolerance if tolerance is None else tolerance
        out = []
        with self._engine_lock:
            engine = self.engine()
            for box in engine.detect(rgb):
                probe = engine.embed(rgb, box)
                out.append(self._match(gallery, probe, box, tol))
                del probe  # not kept: see the module docstring
        return out

    @staticmethod
    def _match(gallery: _Gallery, probe: Embedding, box: FaceBox, tol: float) -> FaceMatch:
        d = distances(gallery.vectors, probe)
        best = int(np.argmin(d))
        if float(d[best]) > tol:
            return FaceMatch(None, float(d[best]), box)
        return FaceMatch(gallery.members[best], float(d[best]), box)

    # -- internals --------------------------------------------------------------

    def _add(self, member: str, vectors: list[Embedding]) -> None:
        g = self._gallery
        self._gallery = _Gallery(
            g.members + (member,) * len(vectors), np.vstack([g.vectors, *vectors])
        )

    def _drop(self, which: Callable[[str], bool]) -> None:
        g = self._gallery
        keep = [i for i, m in enumerate(g.members) if not which(m)]
        self._gallery = _Gallery(tuple(g.members[i] for i in keep), g.vectors[keep])

    async def _journal(self, name: str, member: str | None, **data: object) -> None:
        # Journaled for the audit trail, without a stream: never in the cloud outbox.
        now = self.clock()
        await self.journal.append(
            Entry(type="vision", ts=now, received=now, name=name,
                  data=json.dumps({"member": member, **data}))
        )  # fmt: skip


def decode_rgb(data: bytes) -> Image8:
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageError(f"image of {len(data)} bytes > {MAX_IMAGE_BYTES}")
    try:
        with Image.open(io.BytesIO(data)) as img:
            return np.asarray(img.convert("RGB"), dtype=np.uint8)
    except (UnidentifiedImageError, OSError) as exc:
        raise ImageError(f"not an image: {exc}") from None
    except Exception as exc:  # PIL plugins other packages register (HEIF, ...) fail their own ways
        raise ImageError(f"not an image: {type(exc).__name__}: {exc}") from None
