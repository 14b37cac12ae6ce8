"""The committed item detector, run for real on generated frames (ONNX and ultralytics)."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from devices.camera.codec import Items
from devices.camera.config import CameraConfig
from devices.camera.pump import Frame
from hub.catalog import normalise_gtin, parse_catalog
from simulators.vision.items import TEST_SEED, Sku, render_scene, write_dataset
from tests.conftest import REPO
from vision.analyzer import CameraAnalyzer
from vision.errors import ModelError
from vision.items.counter import count
from vision.items.detector import DEFAULT_MODEL, MODELS, Detection, ItemDetector
from vision.items.evaluate import evaluate, held_out_scenes, model_skus


@pytest.fixture(scope="module")
def detector() -> ItemDetector:
    return ItemDetector.load(DEFAULT_MODEL)


@pytest.fixture(scope="module")
def skus(detector: ItemDetector) -> list[Sku]:
    return model_skus(detector, DEFAULT_MODEL)


def test_classes_are_catalog_gtins(detector: ItemDetector) -> None:
    catalog = {i.gtin: i for i in parse_catalog((REPO / "configs/catalog.toml").read_text())}
    assert detector.gtins and all(normalise_gtin(g) in catalog for g in detector.gtins)


def test_weights_are_small() -> None:
    for name in ("items.pt", "items.onnx"):
        assert (MODELS / name).stat().st_size < 5_000_000


def test_finds_items_in_generated_frames(detector: ItemDetector, skus: list[Sku]) -> None:
    scenes = held_out_scenes(skus, 12)
    result = evaluate(detector, skus, scenes)
    # A sanity floor only (figures in docs/benchmarks.md): far better than guessing.
    assert result.scores.mciou > 0.15
    found = sum(bool(detector.detect(np.ascontiguousarray(s.image[:, :, ::-1]))) for s in scenes)
    assert found >= 10


def test_single_items_are_counted(detector: ItemDetector, skus: list[Sku]) -> None:
    # One package per frame, unseen seeds.  Measured: 14 of 40 exactly right (and the
    # model finds something in nearly all); the floor only guards against a broken model.
    exact = found = 0
    for i in range(16):
        scene = render_scene(skus, random.Random(TEST_SEED + 1000 + i), max_items=1)
        truth = {skus[k].gtin: v for k, v in scene.counts().items()}
        counts, _ = count(detector.detect(np.ascontiguousarray(scene.image[:, :, ::-1])))
        exact += {c.gtin: c.count for c in counts} == truth
        found += bool(counts)
    assert exact >= 3 and found >= 12, f"exact {exact}, found {found} of 16"


def test_onnx_and_ultralytics_paths_agree(detector: ItemDetector, skus: list[Sku]) -> None:
    reference = ItemDetector.load(MODELS / "items.pt", engine="ultralytics")
    for scene in held_out_scenes(skus, 3, start=TEST_SEED + 500):
        bgr = np.ascontiguousarray(scene.image[:, :, ::-1])
        a, b = detector.detect(bgr), reference.detect(bgr)
        assert [d.gtin for d in a] == [d.gtin for d in b]
        for x, y in zip(a, b, strict=True):
            assert np.allclose(x.box, y.box, atol=1.5) and abs(x.score - y.score) < 0.02


def test_counter_flags_unsure_detections_for_review() -> None:
    dets = [
        Detection(0, "06901234567892", 0.9, (0, 0, 1, 1)),
        Detection(0, "06901234567892", 0.8, (2, 2, 3, 3)),
        Detection(1, "06901234561012", 0.4, (4, 4, 5, 5)),  # counted, but a person should look
        Detection(1, "06901234561012", 0.1, (6, 6, 7, 7)),  # below the floor: not counted
    ]
    counts, review = count(dets, min_score=0.25, review_below=0.5)
    assert [(c.gtin, c.count) for c in counts] == [("06901234561012", 1), ("06901234567892", 2)]
    assert review


def test_checkout_camera_reports_changes_only(detector: ItemDetector, skus: list[Sku]) -> None:
    cam = CameraConfig(id="cam-checkout", source="x", tasks=["items"])
    analyzer = CameraAnalyzer(cam, detector=lambda: detector)
    scene = render_scene(skus, random.Random(TEST_SEED + 7))
    frame = Frame(np.ascontiguousarray(scene.image[:, :, ::-1]), 1.0, 0, "cam-checkout", "checkout")
    [(name, payload)] = analyzer(frame)
    assert name == "items" and isinstance(payload, Items)
    assert analyzer(frame) == []  # the same basket again: no news


def test_missing_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="vision train"):
        ItemDetector.load(tmp_path / "none.onnx")


def test_dataset_writer(tmp_path: Path) -> None:
    skus = [Sku("06901234567892", "Jasmine green tea"), Sku("06901234561012", "Rice crackers")]
    data = write_dataset(tmp_path, skus, train=3, val=2, test=1, size=128)
    assert "06901234567892" in data.read_text()
    labels = sorted((tmp_path / "labels" / "train").glob("*.txt"))
    assert len(labels) == 3 and len(list((tmp_path / "images" / "test").glob("*.jpg"))) == 1
    for line in labels[0].read_text().splitlines():
        cls, *box = line.split()
        assert int(cls) in (0, 1) and all(0 <= float(v) <= 1 for v in box)
    # Same seed, same scene: the held-out set is reproducible.
    a = render_scene(skus, random.Random(5), size=128)
    b = render_scene(skus, random.Random(5), size=128)
    assert np.array_equal(a.image, b.image) and a.boxes == b.boxes
