"""``storehub vision …``: train and score the item detector, consent and enrolment,
known plates.

    storehub vision train --classes 8 --minutes 18      # synthetic data → vision/models/
    storehub vision eval --images 200                   # RPC scores on unseen scenes
    storehub vision consent m-1001 --text-version face-v1 --by li.wei
    storehub vision enrol m-1001 photo1.jpg photo2.jpg
    storehub vision withdraw m-1001 --by m-1001
    storehub vision plates add 粤B12345 --member m-1001 --tier vip --manager li.wei

Commands that write (consent, enrol, withdraw, plates, purge) open ``hub.db`` beside
a running hub (SQLite serialises the writers); a running hub picks up enrolments and
plates made here at its next start — the store API changes a running hub at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from hub.cli_support import ConfigOpt, DataOpt
from hub.cli_support import cli_config as _config
from hub.config import HubConfig
from hub.db import db_path
from hub.errors import HubError
from hub.journal import Journal

app = typer.Typer(help="Vision: item detector, face consent and enrolment, known plates.",
                  no_args_is_help=True)  # fmt: skip
plates_app = typer.Typer(help="Known plates (members' cars).", no_args_is_help=True)
app.add_typer(plates_app, name="plates")
out = Console()
err = Console(stderr=True)
T = TypeVar("T")

REPO = Path(__file__).resolve().parent.parent


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=err,
    )  # fmt: skip


def _fail(exc: Exception, code: int = 1) -> typer.Exit:
    err.print(f"[red]error:[/] {exc}")
    return typer.Exit(code)


@asynccontextmanager
async def _service(cfg: HubConfig) -> AsyncIterator[Any]:
    from vision.service import VisionService

    journal = Journal(db_path(cfg.data_dir))
    await journal.open()
    writer = asyncio.create_task(journal.run())
    try:
        service = VisionService(journal, cfg.data_dir)
        await service.load()
        yield service
    finally:
        await journal.flush()
        writer.cancel()
        await asyncio.gather(writer, return_exceptions=True)
        journal.close()


def _run(cfg: HubConfig, fn: Callable[[Any], Coroutine[Any, Any, T]]) -> T:
    async def go() -> T:
        async with _service(cfg) as service:
            return await fn(service)

    try:
        return asyncio.run(go())
    except HubError as exc:
        raise _fail(exc) from None


# -- the item detector ------------------------------------------------------------


@app.command()
def train(
    classes: Annotated[int, typer.Option(help="How many catalog SKUs to learn")] = 8,
    gtin: Annotated[list[str] | None, typer.Option(help="Exactly these SKUs (repeatable)")] = None,
    images: Annotated[int, typer.Option("--train", help="Training scenes")] = 1000,
    val: Annotated[int, typer.Option(help="Validation scenes")] = 100,
    epochs: Annotated[int, typer.Option(help="Epochs (at most; see --minutes)")] = 10,
    minutes: Annotated[float, typer.Option(help="Wall-clock budget; 0 = none")] = 18.0,
    imgsz: Annotated[int, typer.Option(help="Image size in pixels")] = 256,
    catalog: Annotated[Path, typer.Option(help="Catalog file")] = REPO / "configs/catalog.toml",
    out_dir: Annotated[Path, typer.Option("--out", help="Where the weights go")] = (
        REPO / "vision" / "models"
    ),
    workdir: Annotated[Path, typer.Option(help="Dataset and runs")] = Path("var/vision-train"),
) -> None:
    """Render a synthetic dataset of catalog items and train the detector from scratch
    (CPU), then export it to ONNX. Weights: OUT/items.pt, items.onnx, items.json."""
    from vision.items.train import catalog_skus
    from vision.items.train import train as run_training

    try:
        skus = catalog_skus(catalog, classes, gtin or ())
    except HubError as exc:
        raise _fail(exc, 2) from None
    err.print(f"learning {len(skus)} SKUs: " + ", ".join(s.name for s in skus))
    with _progress() as bars:
        render = bars.add_task("rendering scenes", total=images + val)
        fit = bars.add_task("training", total=epochs)

        def on_epoch(epoch: int, total: int, metrics: dict[str, float]) -> None:
            m = metrics.get("metrics/mAP50(B)")
            label = f"training (mAP50 {m:.2f})" if m is not None else "training"
            bars.update(fit, completed=epoch, total=total, description=label)

        result = run_training(
            skus, workdir=workdir, out=out_dir, train_images=images, val_images=val,
            epochs=epochs, imgsz=imgsz, hours=minutes / 60 if minutes else None,
            on_images=lambda n: bars.advance(render, n), on_epoch=on_epoch,
        )  # fmt: skip
    out.print(f"[green]ok[/] {result.weights} ({result.weights.stat().st_size / 1e6:.1f} MB), "
              f"{result.onnx}, {result.seconds / 60:.1f} min, mAP50 {result.map50}")  # fmt: skip


@app.command("eval")
def eval_(
    model: Annotated[Path, typer.Option(help="Weights (.onnx or .pt)")] = (
        REPO / "vision" / "models" / "items.onnx"
    ),
    images: Annotated[int, typer.Option(help="Held-out scenes")] = 200,
    engine: Annotated[str, typer.Option(help="auto, onnx or ultralytics")] = "auto",
) -> None:
    """RPC-style counting scores (cAcc, ACD, mCCD, mCIoU) on scenes rendered with seeds
    training never used."""
    from vision.items.detector import ItemDetector
    from vision.items.evaluate import evaluate, held_out_scenes, model_skus

    try:
        det = ItemDetector.load(model, engine=engine)
        skus = model_skus(det, model)
    except HubError as exc:
        raise _fail(exc, 2) from None
    with _progress() as bars:
        task = bars.add_task("rendering", total=images)
        scenes = held_out_scenes(skus, images)
        bars.update(task, completed=images, description="rendered")
        run = bars.add_task("detecting", total=images)
        result = evaluate(det, skus, scenes, progress=lambda n: bars.advance(run, n))
    out.print(result.scores.line())
    out.print(f"latency p50 {result.p50_ms:.1f} ms, p95 {result.p95_ms:.1f} ms per frame")


@app.command()
def export(
    weights: Annotated[Path, typer.Argument(help="ultralytics weights")] = (
        REPO / "vision" / "models" / "items.pt"
    ),
    openvino: Annotated[bool, typer.Option(help="Also OpenVINO IR")] = False,
    imgsz: Annotated[int, typer.Option()] = 256,
) -> None:
    """Export weights to ONNX (and OpenVINO) beside them."""
    from vision.items.train import export_onnx, export_openvino

    out.print(export_onnx(weights, imgsz=imgsz))
    if openvino:
        out.print(export_openvino(weights, imgsz=imgsz))


# -- faces ------------------------------------------------------------------------


@app.command()
def consent(
    member: str,
    text_version: Annotated[str, typer.Option(help="Version of the consent text agreed to")],
    by: Annotated[str, typer.Option(help="Who records it")],
    channel: Annotated[str, typer.Option(help="counter, kiosk, app")] = "counter",
    config: ConfigOpt = None,
    data_dir: DataOpt = None,
) -> None:
    """Record a member's separate consent to face recognition."""
    cfg = _config(config, data_dir)
    c = _run(cfg, lambda s: s.faces.grant(member, text_version=text_version, by=by,
                                          channel=channel))  # fmt: skip
    out.print(f"[green]ok[/] consent #{c.id} for {member} (text {c.text_version})")


@app.command()
def withdraw(
    member: str,
    by: Annotated[str, typer.Option(help="Who withdraws it (the member, staff)")],
    config: ConfigOpt = None,
    data_dir: DataOpt = None,
) -> None:
    """Withdraw the consent and delete the member's face data now."""
    cfg = _config(config, data_dir)
    n = _run(cfg, lambda s: s.faces.withdraw(member, by=by))
    out.print(f"[green]ok[/] consent withdrawn, {n} embedding(s) deleted")


@app.command()
def enrol(
    member: str,
    images: Annotated[list[Path], typer.Argument(help="Photos with exactly one face each")],
    config: ConfigOpt = None,
    data_dir: DataOpt = None,
) -> None:
    """Enrol a member (needs their active consent) from photos."""
    cfg = _config(config, data_dir)
    data = [p.read_bytes() for p in images]
    with _progress() as bars:
        bars.add_task("enrolling", total=None)
        n = _run(cfg, lambda s: s.faces.enrol(member, data))
    out.print(f"[green]ok[/] {member}: {n} embedding(s), encrypted")


@app.command()
def purge(config: ConfigOpt = None, data_dir: DataOpt = None) -> None:
    """Delete face embeddings past their retention now (the hub does it hourly)."""
    n = _run(_config(config, data_dir), lambda s: s.faces.purge())
    out.print(f"[green]ok[/] {n} embedding(s) deleted")


# -- plates -----------------------------------------------------------------------


@plates_app.command("add")
def plates_add(
    plate: str,
    member: Annotated[str | None, typer.Option()] = None,
    label: Annotated[str | None, typer.Option()] = None,
    tier: Annotated[str | None, typer.Option(help="e.g. vip")] = None,
    manager: Annotated[str | None, typer.Option(help="Account manager (staff name)")] = None,
    config: ConfigOpt = None,
    data_dir: DataOpt = None,
) -> None:
    """Add or update a known plate."""
    cfg = _config(config, data_dir)
    p = _run(cfg, lambda s: s.add_plate(plate, member=member, label=label, tier=tier,
                                        account_manager=manager))  # fmt: skip
    out.print(f"[green]ok[/] {p.plate}")


@plates_app.command("remove")
def plates_remove(plate: str, config: ConfigOpt = None, data_dir: DataOpt = None) -> None:
    removed = _run(_config(config, data_dir), lambda s: s.remove_plate(plate))
    out.print("[green]ok[/] removed" if removed else "not known")


@plates_app.command("list")
def plates_list(config: ConfigOpt = None, data_dir: DataOpt = None) -> None:
    async def everything(s: Any) -> list[Any]:
        return sorted(s.plates, key=lambda p: p.plate)

    table = Table("plate", "member", "label", "tier", "account manager")
    for p in _run(_config(config, data_dir), everything):
        table.add_row(p.plate, p.member or "", p.label or "", p.tier or "",
                      p.account_manager or "")  # fmt: skip
    out.print(table)
