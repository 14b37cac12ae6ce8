"""Chinese licence plates rendered with a real CJK font, on a car, seen by a car-park camera.

    img = render_plate("粤B12345")                      # the plate itself, RGB
    shot = car_park_shot("粤BD12345", random.Random(3))  # a frame with perspective, blur, noise

Plates follow GA 36-2018 in look: blue with white characters (ordinary), white-green
gradient with black characters (new energy, small), yellow with black (new energy
large and other large vehicles).  Characters are drawn with WenQuanYi Zen Hei (Debian
``fonts-wqy-zenhei``), the province character first, then the authority letter, a
separator dot, and the serial.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

from vision.plates.format import PROVINCES, classify

CJK_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)

Image8 = NDArray[np.uint8]


class FontMissing(RuntimeError):
    """No CJK font is installed (``apt-get install fonts-wqy-zenhei``)."""


@cache
def cjk_font_path() -> Path:
    for p in CJK_FONTS:
        if Path(p).exists():
            return Path(p)
    raise FontMissing("no CJK font found; apt-get install fonts-wqy-zenhei")


@cache
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(cjk_font_path()), size)


def random_plate(rng: random.Random, *, new_energy: bool | None = None) -> str:
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    alnum = letters + "0123456789"
    head = rng.choice(PROVINCES) + rng.choice(letters[:12])
    if new_energy is None:
        new_energy = rng.random() < 0.4
    if new_energy:
        if rng.random() < 0.8:
            return (
                head
                + rng.choice("DF")
                + rng.choice(alnum)
                + "".join(rng.choice("0123456789") for _ in range(4))
            )
        return head + "".join(rng.choice("0123456789") for _ in range(5)) + rng.choice("DF")
    # Real serials have at most two letters; keep that so the plates look plausible.
    serial = [rng.choice("0123456789") for _ in range(5)]
    for i in rng.sample(range(5), rng.choice((0, 1, 1, 2))):
        serial[i] = rng.choice(letters)
    return head + "".join(serial)


@dataclass(frozen=True, slots=True)
class Colours:
    top: tuple[int, int, int]
    bottom: tuple[int, int, int]
    text: tuple[int, int, int]


def colours(plate: str) -> Colours:
    kind = classify(plate)
    if kind == "new_energy_small":
        return Colours((245, 250, 245), (60, 190, 90), (0, 0, 0))
    if kind == "new_energy_large":
        return Colours((240, 200, 40), (70, 180, 80), (0, 0, 0))
    return Colours((20, 70, 200), (20, 70, 200), (255, 255, 255))


def render_plate(plate: str, *, height: int = 140) -> Image8:
    """The plate as an RGB array (440 × 140 mm, 480 for 8 characters, at ``height`` px)."""
    n = len(plate)
    width = round(height * (480 if n >= 8 else 440) / 140)
    c = colours(plate)
    grad = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    top, bottom = np.array(c.top, np.float32), np.array(c.bottom, np.float32)
    img = Image.fromarray(
        np.broadcast_to(top * (1 - grad) + bottom * grad, (height, width, 3)).astype(np.uint8)
    )
    draw = ImageDraw.Draw(img)
    border = max(2, height // 35)
    draw.rounded_rectangle(
        (border, border, width - 1 - border, height - 1 - border),
        radius=height // 10, outline=c.text, width=border,
    )  # fmt: skip
    font = _font(int(height * 0.56))
    # Two characters, a separator dot, the serial: cells of equal width.
    cells = [*plate[:2], "·", *plate[2:]]
    margin = width * 0.05
    step = (width - 2 * margin) / (len(cells) - 0.6)
    x = margin
    for ch in cells:
        w = step * (0.4 if ch == "·" else 1.0)
        bbox = draw.textbbox((0, 0), ch, font=font)
        cw, chh = bbox[2] - bbox[0], bbox[3] - bbox[1]
        draw.text(
            (x + (w - cw) / 2 - bbox[0], (height - chh) / 2 - bbox[1]), ch, fill=c.text, font=font
        )
        x += w
    return np.asarray(img, dtype=np.uint8)


def car_park_shot(
    plate: str, rng: random.Random, *, size: tuple[int, int] = (640, 480), severity: float = 0.5
) -> Image8:
    """A frame (RGB) of the front of a car with ``plate``, as a car-park camera sees it:
    perspective (camera above and to the side), scale, blur, noise, uneven light."""
    w, h = size
    s = max(0.0, min(severity, 1.0))
    frame = np.full((h, w, 3), rng.randint(60, 140), np.uint8)
    # The car: a body colour, a grille, the bumper the plate sits on.
    body = tuple(rng.randint(20, 230) for _ in range(3))
    cv2.rectangle(frame, (w // 8, h // 5), (w * 7 // 8, h * 9 // 10), body, -1)
    cv2.rectangle(frame, (w // 4, h // 3), (w * 3 // 4, h // 2), (30, 30, 30), -1)
    ph = int(h * rng.uniform(0.1, 0.16))
    plate_img = render_plate(plate, height=ph)
    pw = plate_img.shape[1]
    x0 = (w - pw) // 2 + rng.randint(-w // 10, w // 10)
    y0 = int(h * 0.6) + rng.randint(-h // 20, h // 20)
    frame[y0 : y0 + ph, x0 : x0 + pw] = plate_img
    # Perspective: the whole frame seen from above/aside; corners move up to 12 % * s.
    j = 0.12 * s
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    dst = src + np.array(
        [[rng.uniform(-j, j) * w, rng.uniform(-j, j) * h] for _ in range(4)], np.float32
    )
    m = cv2.getPerspectiveTransform(src, dst)
    frame = np.asarray(
        cv2.warpPerspective(frame, m, (w, h), borderMode=cv2.BORDER_REPLICATE), np.uint8
    )
    img = frame.astype(np.float32)
    ramp = np.linspace(1 - 0.4 * s * rng.random(), 1.0, w, dtype=np.float32)[None, :, None]
    img = img * ramp * rng.uniform(1 - 0.3 * s, 1 + 0.15 * s)
    sigma = rng.uniform(0, 1.6 * s)
    out = np.clip(img, 0, 255).astype(np.uint8)
    if sigma > 0.2:
        out = np.asarray(cv2.GaussianBlur(out, (0, 0), sigma), np.uint8)
    noise = np.random.default_rng(rng.getrandbits(32)).normal(0, 12 * s, out.shape)
    return np.clip(out.astype(np.float32) + noise, 0, 255).astype(np.uint8)
