"""Checkout-counter scenes of catalog items and the YOLO dataset made from them.

    scene = render_scene(skus, random.Random(7))   # an RGB frame + what is where
    write_dataset(Path("var/items"), skus, train=800, val=100)

Each scene is a background (counter, wood, tiles, shelf) with one to six packages
(artwork per SKU, see :mod:`simulators.vision.artwork`) placed at a random pose
(rotation, slight perspective), scale and position, under random lighting (brightness,
colour cast, a light gradient), blur, sensor noise and JPEG compression, with
occluders (a hand, a receipt) over some of them.  A box is the visible part of a
package; a package hidden for more than half is not labelled and not counted, as a
person looking at the frame could not count it either.

Seeds: a scene is a pure function of its seed.  The training set uses seeds from
``TRAIN_SEED``, validation from ``VAL_SEED`` and the held-out test set from
``TEST_SEED``; the ranges never overlap, so the test scenes were never seen in training.
"""

from __future__ import annotations

import io
import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image

from simulators.vision.artwork import Look, look_for, sprite

TRAIN_SEED = 1_000_000
VAL_SEED = 5_000_000
TEST_SEED = 9_000_000
#: Frame side in pixels; the detector is trained at this size.
SIZE = 256

Image8 = NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class Sku:
    gtin: str
    name: str

    @property
    def look(self) -> Look:
        return look_for(self.gtin, self.name)


@dataclass(frozen=True, slots=True)
class Box:
    """One visible package: class index and pixel box (x1, y1, x2, y2)."""

    cls: int
    x1: float
    y1: float
    x2: float
    y2: float

    def yolo(self, w: int, h: int) -> str:
        cx, cy = (self.x1 + self.x2) / 2 / w, (self.y1 + self.y2) / 2 / h
        bw, bh = (self.x2 - self.x1) / w, (self.y2 - self.y1) / h
        return f"{self.cls} {cx:.6f} {cy:.6f} {bw:.6f} {bh:.6f}"


@dataclass(slots=True)
class Scene:
    image: Image8  # RGB, HxWx3
    boxes: list[Box] = field(default_factory=list)

    def counts(self) -> dict[int, int]:
        out: dict[int, int] = {}
        for b in self.boxes:
            out[b.cls] = out.get(b.cls, 0) + 1
        return out

    def jpeg(self, quality: int = 90) -> bytes:
        buf = io.BytesIO()
        Image.fromarray(self.image).save(buf, "JPEG", quality=quality)
        return buf.getvalue()


def _background(rng: random.Random, size: int) -> Image8:
    kind = rng.choice(("counter", "wood", "tiles", "shelf"))
    base = np.array([rng.randint(60, 235) for _ in range(3)], dtype=np.float32)
    if kind == "counter":
        grey = rng.randint(90, 235)
        base = np.array([grey, grey, grey], dtype=np.float32) + rng.uniform(-15, 15)
    img = np.ones((size, size, 3), np.float32) * base
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    if kind == "wood":
        grain = np.sin(yy / rng.uniform(3, 9) + np.sin(xx / rng.uniform(20, 60)) * 3)
        img *= (0.85 + 0.15 * grain)[..., None]
    elif kind == "tiles":
        step = rng.randint(24, 64)
        lines = ((xx % step) < 2) | ((yy % step) < 2)
        img[lines] *= 0.6
    elif kind == "shelf":
        step = rng.randint(40, 90)
        img[(yy % step) < step * 0.15] *= 0.5
    noise = np.random.default_rng(rng.getrandbits(32)).normal(0, rng.uniform(2, 10), img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def _pose(look: Look, rng: random.Random, size: int) -> tuple[Image8, Image8]:
    """The sprite scaled, slightly tilted in perspective and rotated: (RGB, alpha)."""
    rgba = np.asarray(sprite(look))
    long_side = rng.uniform(0.22, 0.45) * size
    scale = long_side / max(rgba.shape[:2])
    h, w = max(6, round(rgba.shape[0] * scale)), max(6, round(rgba.shape[1] * scale))
    small = cv2.resize(rgba, (w, h), interpolation=cv2.INTER_AREA)
    # Perspective: the pack seen a little off-axis (corners moved up to 12 %).
    j = 0.12
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    dst = src + np.array(
        [[rng.uniform(-j, j) * w, rng.uniform(-j, j) * h] for _ in range(4)], dtype=np.float32
    )
    dst -= dst.min(axis=0)
    out_w, out_h = int(dst[:, 0].max()) + 1, int(dst[:, 1].max()) + 1
    m = cv2.getPerspectiveTransform(src, dst)
    warped = cv2.warpPerspective(small, m, (out_w, out_h), flags=cv2.INTER_LINEAR)
    # Rotation about the centre, on a canvas big enough for any angle.
    diag = int(np.hypot(out_w, out_h)) + 2
    canvas = np.zeros((diag, diag, 4), np.uint8)
    oy, ox = (diag - out_h) // 2, (diag - out_w) // 2
    canvas[oy : oy + out_h, ox : ox + out_w] = warped
    r = cv2.getRotationMatrix2D((diag / 2, diag / 2), rng.uniform(0, 360), 1.0)
    rotated = cv2.warpAffine(canvas, r, (diag, diag), flags=cv2.INTER_LINEAR)
    return np.asarray(rotated[..., :3], np.uint8), np.asarray(rotated[..., 3], np.uint8)


def _occluder(rng: random.Random, size: int) -> tuple[Image8, Image8, int, int]:
    """A hand (skin-toned ellipse and fingers) or a receipt (white strip with lines)."""
    s = int(rng.uniform(0.15, 0.3) * size)
    mask = np.zeros((s, s), np.uint8)
    if rng.random() < 0.6:
        tone = (rng.randint(170, 240), rng.randint(120, 190), rng.randint(90, 160))
        cv2.ellipse(mask, (s // 2, int(s * 0.65)), (s // 3, s // 4), 0, 0, 360, 255, -1)
        for k in range(4):
            x = int(s * (0.25 + 0.15 * k))
            cv2.line(mask, (x, int(s * 0.55)), (x + rng.randint(-4, 4), int(s * 0.1)), 255,
                     max(3, s // 10))  # fmt: skip
        rgb = np.ones((s, s, 3), np.uint8) * np.array(tone, np.uint8)
    else:
        cv2.rectangle(mask, (int(s * 0.3), 0), (int(s * 0.7), s - 1), 255, -1)
        rgb = np.full((s, s, 3), 245, np.uint8)
        for y in range(6, s, 7):
            cv2.line(rgb, (int(s * 0.35), y), (int(s * 0.65), y), (90, 90, 90), 1)
    r = cv2.getRotationMatrix2D((s / 2, s / 2), rng.uniform(0, 360), 1.0)
    rgb = np.asarray(cv2.warpAffine(rgb, r, (s, s)), np.uint8)
    mask = np.asarray(cv2.warpAffine(mask, r, (s, s)), np.uint8)
    return rgb, mask, rng.randint(-s // 3, size - s // 2), rng.randint(-s // 3, size - s // 2)


def _paste(
    frame: Image8, owner: NDArray[np.int16], rgb: Image8, alpha: Image8, x: int, y: int, idx: int
) -> None:
    """Alpha-blend ``rgb`` at (x, y), clipped to the frame; mark its pixels as ``idx``'s."""
    h, w = alpha.shape
    fh, fw = owner.shape
    x0, y0, x1, y1 = max(0, x), max(0, y), min(fw, x + w), min(fh, y + h)
    if x0 >= x1 or y0 >= y1:
        return
    a = alpha[y0 - y : y1 - y, x0 - x : x1 - x].astype(np.float32)[..., None] / 255.0
    region = frame[y0:y1, x0:x1].astype(np.float32)
    src = rgb[y0 - y : y1 - y, x0 - x : x1 - x].astype(np.float32)
    frame[y0:y1, x0:x1] = (src * a + region * (1 - a)).astype(np.uint8)
    owner[y0:y1, x0:x1][a[..., 0] > 0.5] = idx


def render_scene(
    skus: Sequence[Sku], rng: random.Random, *, size: int = SIZE, max_items: int = 6
) -> Scene:
    """One counter scene with 1..``max_items`` packages of ``skus`` (class = index)."""
    frame = _background(rng, size)
    owner = np.full((size, size), -1, np.int16)
    placed: list[tuple[int, int]] = []  # (class, full pixel area)
    for idx in range(rng.randint(1, max_items)):
        cls = rng.randrange(len(skus))
        rgb, alpha = _pose(skus[cls].look, rng, size)
        h, w = alpha.shape
        x = rng.randint(-w // 6, size - w + w // 6)
        y = rng.randint(-h // 6, size - h + h // 6)
        _paste(frame, owner, rgb, alpha, x, y, idx)
        placed.append((cls, int((alpha > 127).sum())))
    for _ in range(rng.choice((0, 0, 1, 1, 2))):
        rgb, mask, x, y = _occluder(rng, size)
        _paste(frame, owner, rgb, mask, x, y, -1)
    frame = _lighting(frame, rng)
    boxes = []
    for idx, (cls, area) in enumerate(placed):
        ys, xs = np.nonzero(owner == idx)
        # Less than half of it in view (covered, or off the edge): not countable.
        if len(xs) < 0.5 * area or len(xs) < 30:
            continue
        boxes.append(Box(cls, float(xs.min()), float(ys.min()), float(xs.max() + 1),
                         float(ys.max() + 1)))  # fmt: skip
    return Scene(frame, boxes)


def _lighting(frame: Image8, rng: random.Random) -> Image8:
    img = frame.astype(np.float32)
    img *= rng.uniform(0.6, 1.3)
    img *= np.array([rng.uniform(0.85, 1.15) for _ in range(3)], np.float32)
    w = img.shape[1]
    ramp = np.linspace(1 - rng.uniform(0, 0.35), 1.0, w, dtype=np.float32)
    if rng.random() < 0.5:
        ramp = ramp[::-1]
    img *= ramp[None, :, None]
    out = np.clip(img, 0, 255).astype(np.uint8)
    sigma = rng.choice((0.0, 0.0, 0.6, 1.0, 1.6))
    if sigma:
        out = np.asarray(cv2.GaussianBlur(out, (0, 0), sigma), np.uint8)
    noise = np.random.default_rng(rng.getrandbits(32)).normal(0, rng.uniform(0, 8), out.shape)
    out = np.clip(out.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, rng.randint(45, 95)])
    decoded = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED) if ok else None
    return out if decoded is None else np.asarray(decoded, dtype=np.uint8)


def scenes(skus: Sequence[Sku], start_seed: int, n: int, *, size: int = SIZE) -> list[Scene]:
    """``n`` scenes with seeds ``start_seed .. start_seed + n - 1``."""
    return [render_scene(skus, random.Random(start_seed + i), size=size) for i in range(n)]


def write_split(
    root: Path,
    split: str,
    skus: Sequence[Sku],
    start_seed: int,
    n: int,
    *,
    size: int = SIZE,
    progress: Callable[[int], None] | None = None,
) -> None:
    images, labels = root / "images" / split, root / "labels" / split
    images.mkdir(parents=True, exist_ok=True)
    labels.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        scene = render_scene(skus, random.Random(start_seed + i), size=size)
        stem = f"{split}-{start_seed + i}"
        # Stored as RGB JPEG, as a camera would deliver it.
        (images / f"{stem}.jpg").write_bytes(scene.jpeg(quality=92))
        (labels / f"{stem}.txt").write_text("".join(b.yolo(size, size) + "\n" for b in scene.boxes))
        if progress is not None:
            progress(1)


def write_dataset(
    root: Path,
    skus: Sequence[Sku],
    *,
    train: int,
    val: int,
    test: int = 0,
    size: int = SIZE,
    progress: Callable[[int], None] | None = None,
) -> Path:
    """Write a YOLO dataset (``data.yaml`` + images + labels); class names are GTINs."""
    root.mkdir(parents=True, exist_ok=True)
    write_split(root, "train", skus, TRAIN_SEED, train, size=size, progress=progress)
    write_split(root, "val", skus, VAL_SEED, val, size=size, progress=progress)
    if test:
        write_split(root, "test", skus, TEST_SEED, test, size=size, progress=progress)
    names = "\n".join(f"  {i}: '{s.gtin}'" for i, s in enumerate(skus))
    data = root / "data.yaml"
    data.write_text(
        f"path: {root.resolve()}\ntrain: images/train\nval: images/val\n"
        + ("test: images/test\n" if test else "")
        + f"names:\n{names}\n"
    )
    (root / "skus.json").write_text(
        json.dumps([{"gtin": s.gtin, "name": s.name} for s in skus], indent=1)
    )
    return data
