"""Score an item detector on held-out synthetic scenes (seeds training never used).

The scenes come from :data:`simulators.vision.items.TEST_SEED` onwards; training
uses ``TRAIN_SEED`` and ``VAL_SEED`` ranges, so none of these frames was seen.  The
SKUs (and their names, which are printed on the artwork) are the model's classes,
looked up in ``items.json`` beside the weights or in the catalog.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hub.catalog import parse_catalog
from simulators.vision.items import TEST_SEED, Scene, Sku, render_scene
from vision.errors import ModelError
from vision.items.counter import as_dict, count
from vision.items.detector import ItemDetector
from vision.items.metrics import RpcScores, rpc_scores

CATALOG = Path(__file__).resolve().parents[2] / "configs" / "catalog.toml"


def model_skus(detector: ItemDetector, model: Path, catalog: Path = CATALOG) -> list[Sku]:
    """The detector's classes as SKUs (GTIN + name), in class order."""
    names: dict[str, str] = {}
    meta = model.with_name("items.json")
    if meta.exists():
        names = {c["gtin"]: c["name"] for c in json.loads(meta.read_text())["classes"]}
    elif catalog.exists():
        names = {i.gtin: i.name for i in parse_catalog(catalog.read_text(), str(catalog))}
    missing = [g for g in detector.gtins if g not in names]
    if missing:
        raise ModelError(f"no names for classes {missing} (items.json or the catalog)")
    return [Sku(g, names[g]) for g in detector.gtins]


def held_out_scenes(skus: Sequence[Sku], n: int, *, start: int = TEST_SEED) -> list[Scene]:
    import random

    return [render_scene(skus, random.Random(start + i)) for i in range(n)]


@dataclass(frozen=True, slots=True)
class Evaluation:
    scores: RpcScores
    #: Per-frame detection latency in seconds, one per scene.
    latencies: list[float]

    @property
    def p50_ms(self) -> float:
        return float(np.percentile(self.latencies, 50) * 1000) if self.latencies else 0.0

    @property
    def p95_ms(self) -> float:
        return float(np.percentile(self.latencies, 95) * 1000) if self.latencies else 0.0


def evaluate(
    detector: ItemDetector,
    skus: Sequence[Sku],
    scenes: Sequence[Scene],
    *,
    min_score: float = 0.25,
    progress: Callable[[int], None] | None = None,
) -> Evaluation:
    predicted: list[dict[str, int]] = []
    truth: list[dict[str, int]] = []
    latencies: list[float] = []
    for scene in scenes:
        bgr = np.ascontiguousarray(scene.image[:, :, ::-1])
        started = time.perf_counter()
        dets = detector.detect(bgr)
        latencies.append(time.perf_counter() - started)
        counts, _ = count(dets, min_score=min_score, review_below=0.0)
        predicted.append(as_dict(counts))
        truth.append({skus[k].gtin: v for k, v in scene.counts().items()})
        if progress is not None:
            progress(1)
    return Evaluation(rpc_scores(predicted, truth), latencies)
