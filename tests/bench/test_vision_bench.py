"""Smoke test of bench/vision.py: both detector paths run on the same frames and agree;
the docs section is replaced in place, other sections kept.  Figures: docs/benchmarks.md."""

from __future__ import annotations

from pathlib import Path

from bench.vision import agreement, bench_items, bench_plates, write_section
from vision.items.detector import Detection


def test_paths_run_and_agree() -> None:
    paths, rpc, sizes = bench_items(4, 0.25)
    assert paths[0].name.startswith("PyTorch") and paths[1].name.startswith("ONNX")
    assert all(p.p50_ms > 0 for p in paths)
    assert paths[1].agreement == 1.0  # same weights, same frames: the same detections
    assert "cAcc" in rpc and any("items.onnx" in s for s in sizes)


def test_plate_figures() -> None:
    exact, near, p50 = bench_plates(2)
    assert 0 <= exact <= near <= 1 and p50 > 0


def test_agreement_counts_one_to_one_matches() -> None:
    a = Detection(0, "g", 0.9, (0, 0, 10, 10))
    b = Detection(0, "g", 0.8, (0, 0, 10, 10.5))
    other = Detection(1, "h", 0.9, (0, 0, 10, 10))
    assert agreement([[a]], [[b]]) == 1.0
    assert agreement([[a]], [[other]]) == 0.0
    assert agreement([[a, a]], [[b]]) == 0.5


def test_write_section_replaces_only_its_own(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\n## Ingest\nfast\n\n## Vision\nold\n\n## Rules\nok\n")
    write_section("## Vision\nnew\n", doc)
    text = doc.read_text()
    assert "old" not in text and "## Vision\nnew" in text
    assert "## Ingest\nfast" in text and "## Rules\nok" in text
    write_section("## Vision\nnewer\n", tmp_path / "missing.md")
    assert "## Vision\nnewer" in (tmp_path / "missing.md").read_text()
