"""A simulated camera: generated frames written to a directory a ``camera`` device reads.

    write_frames(Path("var/cams/checkout"), checkout_frames(skus, 20, seed=1))
    # [[devices]] id = "cam-checkout", kind = "camera", source = "var/cams/checkout"

Three scenes, the three jobs of the vision pipelines: catalog items on a checkout
counter, a car with a plate at the car park, and a person at the entrance (a real
photo pasted on a store background; no faces are generated).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from simulators.vision.items import Sku, render_scene
from simulators.vision.plates import car_park_shot

Image8 = NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class SimFrame:
    image: Image8  # RGB
    #: What the frame shows: {gtin: count}, a plate, or a person's label.
    truth: dict[str, int] | str | None = None


def checkout_frames(skus: Sequence[Sku], n: int, *, seed: int) -> list[SimFrame]:
    frames = []
    for i in range(n):
        scene = render_scene(skus, random.Random(seed + i))
        counts = {skus[k].gtin: v for k, v in scene.counts().items()}
        frames.append(SimFrame(scene.image, counts))
    return frames


def car_park_frames(plates: Sequence[str], *, seed: int, severity: float = 0.4) -> list[SimFrame]:
    rng = random.Random(seed)
    return [SimFrame(car_park_shot(p, rng, severity=severity), p) for p in plates]


def entrance_frame(
    photo: Image8, *, label: str, seed: int, size: tuple[int, int] = (640, 480)
) -> SimFrame:
    """``photo`` (RGB) placed on a plain store background at a random spot."""
    rng = random.Random(seed)
    w, h = size
    frame = np.full((h, w, 3), rng.randint(150, 220), np.uint8)
    scale = min(h / photo.shape[0], w / photo.shape[1]) * rng.uniform(0.7, 0.95)
    small = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    ph, pw = small.shape[:2]
    y, x = rng.randint(0, h - ph), rng.randint(0, w - pw)
    frame[y : y + ph, x : x + pw] = small
    return SimFrame(frame, label)


def empty_frame(size: tuple[int, int] = (640, 480), shade: int = 128) -> SimFrame:
    w, h = size
    return SimFrame(np.full((h, w, 3), shade, np.uint8), None)


def write_frames(folder: Path, frames: Iterable[SimFrame], *, start: int = 0) -> list[Path]:
    """Write frames as numbered PNGs (lossless, so every run sees the same pixels)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, f in enumerate(frames, start):
        path = folder / f"{i:06d}.png"
        cv2.imwrite(str(path), cv2.cvtColor(f.image, cv2.COLOR_RGB2BGR))
        paths.append(path)
    return paths
