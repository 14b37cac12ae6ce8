"""Face detection and 128-D embeddings with dlib (a typed wrapper; dlib has no stubs).

The weights are the ones the ``face-recognition-models`` wheel ships: dlib's 5-point
landmark predictor and its ResNet face-recognition model (99.38 % on LFW).  We find
them through the package's location and do not import it, because its
``__init__`` needs ``pkg_resources``, which current setuptools no longer has.
Detection is dlib's HOG frontal-face detector: CPU-friendly, and good for the
frontal faces a store entrance camera sees.

Blocking and CPU-bound: call from a worker thread.  A single engine is used by one
thread at a time (the caller serialises; dlib objects are not documented thread-safe).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from vision.errors import ModelError

Image8 = NDArray[np.uint8]
Embedding = NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class FaceBox:
    x1: int
    y1: int
    x2: int
    y2: int
    score: float


@cache
def models_dir() -> Path:
    spec = importlib.util.find_spec("face_recognition_models")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise ModelError("face-recognition-models is not installed")
    path = Path(locations[0]) / "models"
    if not (path / "dlib_face_recognition_resnet_model_v1.dat").exists():
        raise ModelError(f"{path}: dlib face models missing")
    return path


class FaceEngine:
    """dlib's detector, 5-point landmarks and ResNet embedding."""

    def __init__(self, *, upsample: int = 0, min_score: float = 0.3) -> None:
        try:
            import dlib
        except ModuleNotFoundError as exc:
            raise ModelError("dlib is not installed (pip install dlib-bin)") from exc
        d = models_dir()
        self._dlib: Any = dlib
        self._detector: Any = dlib.get_frontal_face_detector()
        self._shapes: Any = dlib.shape_predictor(str(d / "shape_predictor_5_face_landmarks.dat"))
        self._net: Any = dlib.face_recognition_model_v1(
            str(d / "dlib_face_recognition_resnet_model_v1.dat")
        )
        self.upsample = upsample
        #: HOG detections scoring below this are mostly not faces (badges, patterns).
        self.min_score = min_score

    def detect(self, rgb: Image8, *, upsample: int | None = None) -> list[FaceBox]:
        """Faces in an RGB image, most confident first."""
        up = self.upsample if upsample is None else upsample
        rects, scores, _ = self._detector.run(np.ascontiguousarray(rgb), up, 0.0)
        boxes = [
            FaceBox(r.left(), r.top(), r.right(), r.bottom(), float(s))
            for r, s in zip(rects, scores, strict=True)
            if s >= self.min_score
        ]
        return sorted(boxes, key=lambda b: -b.score)

    def embed(self, rgb: Image8, box: FaceBox) -> Embedding:
        """The 128-D embedding of the face in ``box`` (aligned by its landmarks)."""
        img = np.ascontiguousarray(rgb)
        rect = self._dlib.rectangle(box.x1, box.y1, box.x2, box.y2)
        shape = self._shapes(img, rect)
        vec = self._net.compute_face_descriptor(img, shape)
        out: Embedding = np.asarray(vec, dtype=np.float32)
        return out


def distances(gallery: NDArray[np.float32], probe: Embedding) -> NDArray[np.float32]:
    """Euclidean distance of ``probe`` to each row of ``gallery`` (dlib's metric)."""
    if gallery.size == 0:
        return np.zeros((0,), np.float32)
    d: NDArray[np.float32] = np.linalg.norm(gallery - probe[None, :], axis=1).astype(np.float32)
    return d
