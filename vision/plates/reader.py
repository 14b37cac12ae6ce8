"""Licence plates in a frame: localise, read with PP-OCR (RapidOCR), check the format.

    reader = PlateReader()
    reads = reader.read(bgr_frame)   # [PlateReading(plate="粤B12345", ...)]

Localisation first looks for plate-coloured, plate-shaped regions (blue, green and
yellow plates: an HSV mask, closed horizontally, boxes with a plate's aspect ratio);
each is cut out, straightened and read on its own, which is fast because OCR sees a
small image.  Only when no region reads as a valid plate does the whole frame go
through RapidOCR's text detector, and then only texts in a plate format are kept, so
a car park's signs are not taken for plates.  Blocking and CPU-bound: call it from a
worker thread.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from vision.errors import ModelError
from vision.plates.format import PlateInfo, parse

Image8 = NDArray[np.uint8]

#: (low, high) HSV bounds of plate backgrounds (OpenCV hue is 0..180).
_PLATE_HSV = (
    ((100, 90, 60), (128, 255, 255)),  # blue
    ((38, 50, 60), (88, 255, 255)),  # new-energy green
    ((15, 90, 90), (34, 255, 255)),  # yellow
)


@dataclass(frozen=True, slots=True)
class PlateReading:
    plate: str
    raw: str
    info: PlateInfo
    confidence: float
    #: Where it was found: (x1, y1, x2, y2) in frame pixels.
    box: tuple[int, int, int, int]


class PlateReader:
    def __init__(self, *, min_confidence: float = 0.5) -> None:
        self.min_confidence = min_confidence
        self._engine: Any = None
        # RapidOCR's sessions are not documented as thread-safe: one call at a time.
        self._lock = threading.Lock()

    def _ocr(self) -> Any:
        if self._engine is None:
            try:
                from rapidocr_onnxruntime import RapidOCR
            except ModuleNotFoundError as exc:
                raise ModelError("rapidocr-onnxruntime is not installed") from exc
            # The detector's default scales a frame *up* to 736 px on its short side
            # (made for documents); a camera frame is read at most 640 px on its long one.
            self._engine = RapidOCR(det_limit_side_len=640, det_limit_type="max")
        return self._engine

    def _run(self, img: Image8) -> list[tuple[list[list[float]], str, float]]:
        """Detect text lines in ``img`` and read them (the slow path)."""
        with self._lock:
            result, _ = self._ocr()(img)
        return [(r[0], str(r[1]), float(r[2])) for r in (result or [])]

    def _line(self, img: Image8) -> tuple[str, float] | None:
        """Read ``img`` as one line of text, without detection (the fast path)."""
        with self._lock:
            result, _ = self._ocr()(img, use_det=False, use_cls=False, use_rec=True)
        if not result:
            return None
        return str(result[0][0]), float(result[0][1])

    def read(self, frame: Image8) -> list[PlateReading]:
        """Valid-format plates in a BGR frame, best first (at most one per region)."""
        found: list[PlateReading] = []
        for rect in candidates(frame):
            line = self._line(straighten(frame, rect))
            if line is not None:
                box = _bounds(rect)
                reading = self._best([([[box[0], box[1]]], *line)], box)
                if reading is not None:
                    found.append(reading)
        if not found:
            lines = self._run(frame)
            for pts, text, score in lines:
                xs, ys = [p[0] for p in pts], [p[1] for p in pts]
                box = (int(min(xs)), int(min(ys)), int(max(xs)), int(max(ys)))
                reading = self._best([(pts, text, score)], box)
                if reading is not None:
                    found.append(reading)
        unique: dict[str, PlateReading] = {}
        for r in sorted(found, key=lambda r: -r.confidence):
            unique.setdefault(r.plate, r)
        return list(unique.values())

    def _best(
        self, lines: list[tuple[list[list[float]], str, float]], box: tuple[int, int, int, int]
    ) -> PlateReading | None:
        """The plate among the lines OCR read in one region: each line alone, then all
        of them joined left to right (a plate sometimes splits at its dot)."""
        if not lines:
            return None
        ordered = sorted(lines, key=lambda line: min(p[0] for p in line[0]))
        options = [(text, score) for _, text, score in ordered]
        if len(ordered) > 1:
            joined = "".join(text for _, text, _ in ordered)
            options.append((joined, min(score for _, _, score in ordered)))
        best: PlateReading | None = None
        for text, score in options:
            info = parse(text)
            if not info.valid or score < self.min_confidence:
                continue
            if best is None or score > best.confidence:
                best = PlateReading(info.plate, text, info, score, box)
        return best


Rect = tuple[tuple[float, float], tuple[float, float], float]  # cv2.minAreaRect


def candidates(frame: Image8, *, max_regions: int = 4) -> list[Rect]:
    """Rotated rectangles of plate-coloured regions with a plate's shape, largest first."""
    h, w = frame.shape[:2]
    hsv = cv2.cvtColor(frame, cv2.COLOR_BGR2HSV)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (max(3, w // 60), max(3, h // 120)))
    rects: list[tuple[float, Rect]] = []
    for low, high in _PLATE_HSV:
        mask = cv2.inRange(hsv, np.array(low, np.uint8), np.array(high, np.uint8))
        # Characters punch holes in the plate colour: close them horizontally.
        mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, kernel)
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        for c in contours:
            (cx, cy), (rw, rh), angle = cv2.minAreaRect(c)
            rect: Rect = ((float(cx), float(cy)), (float(rw), float(rh)), float(angle))
            long, short = max(rw, rh), min(rw, rh)
            if short < 8 or long * short < 0.0008 * w * h:
                continue
            if not 2.0 <= long / short <= 6.0:
                continue
            # A plate fills its rotated rectangle; a car body with a hole does not.
            if cv2.contourArea(c) < 0.6 * long * short:
                continue
            rects.append((long * short, rect))
    rects.sort(key=lambda r: -r[0])
    return [r for _, r in rects[:max_regions]]


def _bounds(rect: Rect) -> tuple[int, int, int, int]:
    pts = cv2.boxPoints(rect)
    return int(pts[:, 0].min()), int(pts[:, 1].min()), int(pts[:, 0].max()), int(pts[:, 1].max())


def straighten(frame: Image8, rect: Rect, *, height: int = 48) -> Image8:
    """The rotated rectangle cut out level, with a margin (a new-energy plate's white top
    is not green), ``height`` px tall as PP-OCR's recogniser expects."""
    (cx, cy), (rw, rh), angle = rect
    if rw < rh:  # OpenCV may describe a wide plate as tall and turned by 90°
        rw, rh, angle = rh, rw, angle - 90
    rw, rh = rw * 1.06, rh * 1.2
    out_w = max(8, round(height * rw / rh))
    pts = cv2.boxPoints(((cx, cy), (rw, rh), angle)).astype(np.float32)
    # Corners by position, not by OpenCV's angle convention: a plate seen by a car-park
    # camera is within 45° of level, so its top-left corner has the smallest x + y.
    s, d = pts.sum(axis=1), pts[:, 1] - pts[:, 0]
    src = np.array([pts[s.argmin()], pts[d.argmin()], pts[s.argmax()], pts[d.argmax()]])
    dst = np.array([[0, 0], [out_w - 1, 0], [out_w - 1, height - 1], [0, height - 1]], np.float32)
    m = cv2.getPerspectiveTransform(src, dst)
    out = cv2.warpPerspective(frame, m, (out_w, height), flags=cv2.INTER_CUBIC,
                              borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
    return np.ascontiguousarray(out, dtype=np.uint8)
