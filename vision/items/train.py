"""Train the item detector from scratch on synthetic counter scenes, then export it.

    storehub vision train --classes 8 --train 1000 --epochs 10

No pretrained weights can be downloaded here, so the detector starts from random
weights (``model.yaml``: YOLOv8 at an eighth of its width) and learns from
scenes :mod:`simulators.vision.items` renders for the catalog's SKUs.  Class names
are the SKUs' GTIN-14s, so the class ↔ GTIN mapping travels inside the weights and
inside the exported ONNX file's metadata.
"""

from __future__ import annotations

import json
import shutil
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.catalog import Item, parse_catalog
from simulators.vision.items import SIZE, Sku, write_dataset
from vision.errors import VisionError

MODEL_YAML = Path(__file__).with_name("model.yaml")
MODELS = Path(__file__).resolve().parent.parent / "models"


def catalog_skus(catalog: Path, classes: int, gtins: Sequence[str] = ()) -> list[Sku]:
    """The SKUs to learn: ``gtins`` if given, else the first ``classes`` packaged items
    (sold ``each``; loose produce by the kg is weighed, not counted by camera)."""
    items: list[Item] = parse_catalog(catalog.read_text(), str(catalog))
    if gtins:
        wanted = {g.zfill(14) for g in gtins}
        chosen = [i for i in items if i.gtin in wanted]
        if len(chosen) != len(wanted):
            missing = wanted - {i.gtin for i in chosen}
            raise VisionError(f"not in {catalog}: {', '.join(sorted(missing))}")
    else:
        chosen = [i for i in items if i.unit == "each"][:classes]
    if not chosen:
        raise VisionError(f"{catalog}: no items to learn")
    return [Sku(i.gtin, i.name) for i in chosen]


@dataclass(frozen=True, slots=True)
class TrainResult:
    weights: Path
    onnx: Path | None
    seconds: float
    epochs: int
    map50: float | None


def train(
    skus: Sequence[Sku],
    *,
    workdir: Path,
    out: Path = MODELS,
    train_images: int = 1000,
    val_images: int = 100,
    epochs: int = 10,
    imgsz: int = SIZE,
    batch: int = 16,
    workers: int = 0,
    seed: int = 0,
    hours: float | None = None,
    on_images: Callable[[int], None] | None = None,
    on_epoch: Callable[[int, int, dict[str, float]], None] | None = None,
) -> TrainResult:
    """Render the dataset, train, copy ``best.pt`` to ``out/items.pt`` and export ONNX."""
    from ultralytics.models import YOLO  # heavy: imported only when training

    started = time.monotonic()
    data = write_dataset(
        workdir / "dataset", skus, train=train_images, val=val_images, size=imgsz,
        progress=on_images,
    )  # fmt: skip
    model = YOLO(str(MODEL_YAML), task="detect")

    def epoch_end(trainer: Any) -> None:
        if on_epoch is not None:
            metrics = {k: float(v) for k, v in (trainer.metrics or {}).items()}
            on_epoch(int(trainer.epoch) + 1, int(trainer.epochs), metrics)

    model.add_callback("on_fit_epoch_end", epoch_end)
    model.train(
        data=str(data),
        epochs=epochs,
        # A wall-clock budget: ultralytics fits the epochs (and the LR schedule) into it.
        time=hours,
        imgsz=imgsz,
        batch=batch,
        workers=workers,
        device="cpu",
        seed=seed,
        pretrained=False,
        # From scratch, few iterations: a fixed AdamW rate learns faster than "auto".
        optimizer="AdamW",
        lr0=0.002,
        warmup_epochs=1,
        close_mosaic=max(1, epochs // 4),
        # The scenes are already rotated and lit at random; keep YOLO's own
        # augmentation mild so that it does not fight the generator.
        degrees=0.0,
        mosaic=1.0,
        amp=False,
        plots=False,  # plotting wants a font it would download
        project=str(workdir / "runs"),
        name="items",
        exist_ok=True,
        verbose=False,
    )
    trainer = model.trainer
    best = Path(trainer.best) if trainer is not None else None
    if best is None or not best.exists():
        raise VisionError("training produced no weights")
    out.mkdir(parents=True, exist_ok=True)
    weights = out / "items.pt"
    shutil.copyfile(best, weights)
    onnx = export_onnx(weights, imgsz=imgsz)
    map50 = None
    if trainer is not None and trainer.metrics:
        map50 = float(trainer.metrics.get("metrics/mAP50(B)", 0.0))
    (out / "items.json").write_text(
        json.dumps(
            {
                "imgsz": imgsz,
                "classes": [{"gtin": s.gtin, "name": s.name} for s in skus],
                "train_images": train_images,
                # What ran: a time budget makes ultralytics fit fewer epochs.
                "epochs": int(trainer.epoch) + 1 if trainer is not None else epochs,
                "map50_val": map50,
                "seconds": round(time.monotonic() - started),
            },
            indent=1,
        )
        + "\n"
    )
    return TrainResult(weights, onnx, time.monotonic() - started, epochs, map50)


def export_onnx(weights: Path, *, imgsz: int = SIZE) -> Path:
    """Export ultralytics weights to ONNX beside them (same name, ``.onnx``)."""
    from ultralytics.models import YOLO

    # Exported without simplification or dynamic shapes: a fixed 256×256 graph is
    # what ONNX Runtime runs fastest, and the pipeline letterboxes to it anyway.
    with warnings.catch_warnings():
        # torch warns that ultralytics uses its TorchScript-based exporter, and the
        # tracer warns about shape-dependent Python branches: theirs, and harmless for
        # a fixed-size graph. Under an "error" warnings filter (the test suite) such a
        # warning raised inside torch's C code would abort the export.
        warnings.simplefilter("ignore")
        path = YOLO(str(weights), task="detect").export(
            format="onnx", imgsz=imgsz, simplify=False, dynamic=False, opset=17
        )
    return Path(path)


def export_openvino(weights: Path, *, imgsz: int = SIZE) -> Path:
    """Export to OpenVINO IR (needs the ``openvino`` package)."""
    from ultralytics.models import YOLO

    return Path(YOLO(str(weights), task="detect").export(format="openvino", imgsz=imgsz))
