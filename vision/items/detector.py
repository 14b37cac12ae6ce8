"""The item detector at run time: the same weights through ONNX Runtime (fast) or
ultralytics (any ``.pt`` a user brings, and the reference the benchmark compares with).

    det = ItemDetector.load(Path("vision/models/items.onnx"))
    det.detect(bgr)  # [Detection(gtin="06901234567892", score=0.91, box=(x1, y1, x2, y2))]

Class names are GTIN-14s (set at training time), read from the ONNX file's metadata
or the ``.pt``'s ``names``: the class ↔ GTIN mapping travels with the weights.  The
ONNX path does YOLOv8's pre- and post-processing itself (letterbox, class-aware NMS)
with NumPy and OpenCV, without importing torch.  Blocking: call from a worker thread.
"""

from __future__ import annotations

import ast
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np
from numpy.typing import NDArray

from vision.errors import ModelError

Image8 = NDArray[np.uint8]
MODELS = Path(__file__).resolve().parent.parent / "models"
DEFAULT_MODEL = MODELS / "items.onnx"


@dataclass(frozen=True, slots=True)
class Detection:
    cls: int
    gtin: str
    score: float
    box: tuple[float, float, float, float]


class Backend(Protocol):
    names: list[str]
    imgsz: int

    def detect(self, bgr: Image8, conf: float, iou: float) -> list[Detection]: ...


def _letterbox(bgr: Image8, size: int) -> tuple[Image8, float, tuple[int, int]]:
    """Resize keeping the aspect ratio and pad with grey 114, as ultralytics does."""
    h, w = bgr.shape[:2]
    r = min(size / h, size / w)
    nh, nw = round(h * r), round(w * r)
    img = bgr if (nh, nw) == (h, w) else cv2.resize(bgr, (nw, nh), interpolation=cv2.INTER_LINEAR)
    top, left = (size - nh) // 2, (size - nw) // 2
    out = cv2.copyMakeBorder(img, top, size - nh - top, left, size - nw - left,
                             cv2.BORDER_CONSTANT, value=(114, 114, 114))  # fmt: skip
    return np.asarray(out, dtype=np.uint8), r, (left, top)


def _nms(
    boxes: NDArray[np.float32], scores: NDArray[np.float32], classes: NDArray[np.int64], iou: float
) -> list[int]:
    """Class-aware NMS: boxes of different classes never suppress each other."""
    offset = classes.astype(np.float32)[:, None] * 4096.0  # move each class far apart
    shifted = boxes + offset
    xywh = np.column_stack([shifted[:, :2], shifted[:, 2:] - shifted[:, :2]])
    keep = cv2.dnn.NMSBoxes(xywh.tolist(), scores.tolist(), 0.0, iou)
    return [int(i) for i in np.asarray(keep).reshape(-1)]


class OnnxBackend:
    def __init__(self, path: Path, *, threads: int | None = None) -> None:
        try:
            import onnxruntime as ort
        except ModuleNotFoundError as exc:
            raise ModelError("onnxruntime is not installed") from exc
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
            # Idle threads that spin steal the CPU from the cameras' other work.
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session: Any = ort.InferenceSession(
                str(path), opts, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise ModelError(f"{path}: {exc}") from exc
        meta = self.session.get_modelmeta().custom_metadata_map
        try:
            names = ast.literal_eval(meta["names"])
            self.imgsz = int(ast.literal_eval(meta.get("imgsz", "[256, 256]"))[0])
        except (KeyError, ValueError, SyntaxError) as exc:
            raise ModelError(f"{path}: no ultralytics class names in its metadata") from exc
        self.names = [str(names[i]) for i in sorted(names)]
        self.input = self.session.get_inputs()[0].name

    def detect(self, bgr: Image8, conf: float, iou: float) -> list[Detection]:
        img, r, (left, top) = _letterbox(bgr, self.imgsz)
        blob = img[:, :, ::-1].transpose(2, 0, 1)[None].astype(np.float32) / 255.0
        out = np.asarray(self.session.run(None, {self.input: np.ascontiguousarray(blob)})[0])
        pred = out[0].T  # (anchors, 4 + classes): cx, cy, w, h, class scores
        scores_all = pred[:, 4:]
        classes = scores_all.argmax(axis=1)
        scores = scores_all[np.arange(len(classes)), classes]
        mask = scores >= conf
        if not mask.any():
            return []
        p, s, c = pred[mask], scores[mask].astype(np.float32), classes[mask]
        xyxy = np.column_stack(
            [p[:, 0] - p[:, 2] / 2, p[:, 1] - p[:, 3] / 2, p[:, 0] + p[:, 2] / 2,
             p[:, 1] + p[:, 3] / 2]
        ).astype(np.float32)  # fmt: skip
        keep = _nms(xyxy, s, c, iou)
        h, w = bgr.shape[:2]
        dets = []
        for i in sorted(keep, key=lambda k: -s[k]):
            x1, y1, x2, y2 = xyxy[i]
            box = (
                float(np.clip((x1 - left) / r, 0, w)), float(np.clip((y1 - top) / r, 0, h)),
                float(np.clip((x2 - left) / r, 0, w)), float(np.clip((y2 - top) / r, 0, h)),
            )  # fmt: skip
            dets.append(Detection(int(c[i]), self.names[int(c[i])], float(s[i]), box))
        return dets


class UltralyticsBackend:
    """Any ultralytics-loadable model: ``.pt``, or an exported ``.onnx``/OpenVINO dir."""

    def __init__(self, path: Path, *, imgsz: int = 256) -> None:
        try:
            from ultralytics.models import YOLO
        except ModuleNotFoundError as exc:
            raise ModelError("ultralytics is not installed") from exc
        try:
            self.model: Any = YOLO(str(path), task="detect")
        except Exception as exc:  # ultralytics raises many kinds
            raise ModelError(f"{path}: {exc}") from exc
        names = self.model.names
        self.names = [str(names[i]) for i in sorted(names)]
        self.imgsz = imgsz

    def detect(self, bgr: Image8, conf: float, iou: float) -> list[Detection]:
        result = self.model.predict(
            bgr, imgsz=self.imgsz, conf=conf, iou=iou, device="cpu", verbose=False
        )[0]
        boxes = result.boxes
        xyxy = boxes.xyxy.numpy()
        dets = [
            Detection(int(c), self.names[int(c)], float(s), tuple(float(v) for v in b))  # type: ignore[arg-type]
            for b, s, c in zip(xyxy, boxes.conf.numpy(), boxes.cls.numpy(), strict=True)
        ]
        return sorted(dets, key=lambda d: -d.score)


class ItemDetector:
    def __init__(self, backend: Backend, *, conf: float = 0.25, iou: float = 0.6) -> None:
        self.backend = backend
        self.conf = conf
        self.iou = iou
        # One inference at a time per session keeps latency predictable on 2 cores.
        self._lock = threading.Lock()

    @classmethod
    def load(
        cls, path: Path = DEFAULT_MODEL, *, conf: float = 0.25, iou: float = 0.6,
        engine: str = "auto", threads: int | None = None,
    ) -> ItemDetector:  # fmt: skip
        """``engine``: ``onnx`` (ONNX Runtime, our own pre/post-processing),
        ``ultralytics``, or ``auto`` (``onnx`` for ``.onnx`` files)."""
        if not path.exists():
            raise ModelError(f"{path}: no such model (run `storehub vision train`)")
        use_onnx = engine == "onnx" or (engine == "auto" and path.suffix == ".onnx")
        backend: Backend = (
            OnnxBackend(path, threads=threads) if use_onnx else UltralyticsBackend(path)
        )
        return cls(backend, conf=conf, iou=iou)

    @property
    def gtins(self) -> list[str]:
        return self.backend.names

    def detect(self, bgr: Image8) -> list[Detection]:
        with self._lock:
            return self.backend.detect(bgr, self.conf, self.iou)
