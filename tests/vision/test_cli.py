"""``storehub vision …`` (vision/cli.py) against a data dir, without a running hub."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from tests.conftest import DEMO
from tests.vision.conftest import astronaut, jpeg
from vision.cli import app

runner = CliRunner()


def call(tmp_path: Path, *args: str) -> str:
    result = runner.invoke(app, [*args, "--config", str(DEMO), "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    return result.output


def test_consent_enrol_withdraw_and_plates(tmp_path: Path) -> None:
    photo = tmp_path / "m.jpg"
    photo.write_bytes(jpeg(astronaut()))
    refused = runner.invoke(app, ["enrol", "m-1", str(photo), "--data-dir", str(tmp_path)])
    assert refused.exit_code == 1 and "no active consent" in refused.output
    assert "consent #1" in call(tmp_path, "consent", "m-1", "--text-version", "v1", "--by", "ana")
    assert "1 embedding(s)" in call(tmp_path, "enrol", "m-1", str(photo))
    assert "1 embedding(s) deleted" in call(tmp_path, "withdraw", "m-1", "--by", "m-1")
    assert "粤B12345" in call(tmp_path, "plates", "add", "粤b12345", "--tier", "vip")
    assert "粤B12345" in call(tmp_path, "plates", "list")
    assert "removed" in call(tmp_path, "plates", "remove", "粤B12345")


def test_eval_reports_rpc_scores() -> None:
    result = runner.invoke(app, ["eval", "--images", "4"])
    assert result.exit_code == 0, result.output
    assert "cAcc" in result.output and "mCIoU" in result.output


def test_train_and_export_end_to_end(tmp_path: Path) -> None:
    # Tiny on purpose (8 scenes, 1 epoch, 64 px): the pipeline, not the accuracy.
    result = runner.invoke(
        app,
        ["train", "--classes", "2", "--train", "8", "--val", "4", "--epochs", "1",
         "--imgsz", "64", "--minutes", "0", "--out", str(tmp_path / "models"),
         "--workdir", str(tmp_path / "work")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    out = tmp_path / "models"
    assert {p.name for p in out.iterdir()} >= {"items.pt", "items.onnx", "items.json"}
    from vision.items.detector import ItemDetector

    det = ItemDetector.load(out / "items.onnx")
    assert det.gtins == ["06901234567892", "06901234561012"]
