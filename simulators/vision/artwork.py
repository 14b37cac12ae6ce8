"""Procedural package artwork: one look per SKU, the same every time for the same GTIN.

No product photos can be downloaded here, so each catalog item gets a made-up package:
a shape (box, bottle, can, bag, flat pack, jar), a colour scheme, a pattern, its name as
label text and its real EAN-13 bars.  Everything is drawn from a generator seeded by the
GTIN, so the training set, the test set and the simulated camera all show the same
package for the same item, while nothing depends on which other items are in the set.
"""

from __future__ import annotations

import colorsys
import hashlib
import random
from dataclasses import dataclass
from functools import cache
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw, ImageFont

Shape = Literal["box", "bottle", "can", "bag", "flat", "jar"]
SHAPES: tuple[Shape, ...] = ("box", "bottle", "can", "bag", "flat", "jar")
Pattern = Literal["stripes", "diagonal", "dots", "band", "checker", "plain"]
PATTERNS: tuple[Pattern, ...] = ("stripes", "diagonal", "dots", "band", "checker", "plain")

#: Width / height of each shape, as seen from above the counter.
ASPECT: dict[Shape, float] = {
    "box": 0.72,
    "bottle": 0.38,
    "can": 0.55,
    "bag": 0.8,
    "flat": 1.6,
    "jar": 0.9,
}
#: Long side of a rendered sprite; the scene scales it down.
SPRITE = 192

FONT_PATHS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)


@dataclass(frozen=True, slots=True)
class Look:
    """How one SKU's package looks."""

    gtin: str
    name: str
    shape: Shape
    pattern: Pattern
    base: tuple[int, int, int]
    accent: tuple[int, int, int]
    text: tuple[int, int, int]


def _rgb(h: float, s: float, v: float) -> tuple[int, int, int]:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, s, v)
    return round(r * 255), round(g * 255), round(b * 255)


def look_for(gtin: str, name: str) -> Look:
    """The package of ``gtin``: a pure function of the GTIN (and the name for the label)."""
    seed = int.from_bytes(hashlib.sha256(gtin.encode()).digest()[:8], "big")
    rng = random.Random(seed)
    hue = rng.random()
    base = _rgb(hue, rng.uniform(0.55, 1.0), rng.uniform(0.55, 0.95))
    # The accent sits across the colour wheel so that the pattern stays visible when blurred.
    accent = _rgb(hue + rng.uniform(0.3, 0.7), rng.uniform(0.3, 1.0), rng.uniform(0.2, 1.0))
    light = sum(base) / 3 > 140
    text = (20, 20, 20) if light else (245, 245, 245)
    return Look(gtin, name, rng.choice(SHAPES), rng.choice(PATTERNS), base, accent, text)


@cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in FONT_PATHS:
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            continue
    return ImageFont.load_default()


def _ean13_modules(gtin: str) -> str:
    """The EAN-13 bar pattern (1 = bar) of a GTIN-14 with a leading zero, else its last 13."""
    code = gtin[-13:]
    left_l = ["0001101", "0011001", "0010011", "0111101", "0100011",
              "0110001", "0101111", "0111011", "0110111", "0001011"]  # fmt: skip
    left_g = ["".join("1" if c == "0" else "0" for c in p)[::-1] for p in left_l]
    right = ["".join("1" if c == "0" else "0" for c in p) for p in left_l]
    parity = ["LLLLLL", "LLGLGG", "LLGGLG", "LLGGGL", "LGLLGG",
              "LGGLLG", "LGGGLL", "LGLGLG", "LGLGGL", "LGGLGL"]  # fmt: skip
    first, digits = int(code[0]), [int(c) for c in code[1:]]
    bars = "101"
    for i, d in enumerate(digits[:6]):
        bars += left_l[d] if parity[first][i] == "L" else left_g[d]
    bars += "01010"
    for d in digits[6:]:
        bars += right[d]
    return bars + "101"


def _barcode(gtin: str, width: int, height: int) -> Image.Image:
    modules = _ean13_modules(gtin)
    row = np.array([0 if m == "1" else 255 for m in modules], dtype=np.uint8)
    strip = np.repeat(row[None, :], 4, axis=0)
    img = Image.fromarray(strip, "L").resize((width, height), Image.Resampling.NEAREST)
    framed = Image.new("L", (width + 8, height + 8), 255)
    framed.paste(img, (4, 4))
    return framed


def _pattern(draw: ImageDraw.ImageDraw, look: Look, w: int, h: int) -> None:
    a = look.accent
    if look.pattern == "stripes":
        step = max(6, w // 6)
        for x in range(0, w, step * 2):
            draw.rectangle((x, 0, x + step - 1, h), fill=a)
    elif look.pattern == "diagonal":
        step = max(8, w // 5)
        for x in range(-h, w, step * 2):
            draw.polygon([(x, 0), (x + step, 0), (x + step + h, h), (x + h, h)], fill=a)
    elif look.pattern == "dots":
        r = max(3, w // 14)
        for y in range(r, h, r * 4):
            for x in range(r + (y // (r * 4)) % 2 * r * 2, w, r * 4):
                draw.ellipse((x - r, y - r, x + r, y + r), fill=a)
    elif look.pattern == "band":
        draw.rectangle((0, int(h * 0.3), w, int(h * 0.55)), fill=a)
    elif look.pattern == "checker":
        step = max(8, w // 4)
        for y in range(0, h, step):
            for x in range(0, w, step):
                if (x // step + y // step) % 2 == 0:
                    draw.rectangle((x, y, x + step - 1, y + step - 1), fill=a)


def _outline(shape: Shape, w: int, h: int) -> Image.Image:
    """The package's silhouette as an ``L`` mask."""
    mask = Image.new("L", (w, h), 0)
    d = ImageDraw.Draw(mask)
    if shape in ("box", "flat"):
        d.rectangle((0, 0, w - 1, h - 1), fill=255)
    elif shape == "bottle":
        neck = int(w * 0.35)
        d.rounded_rectangle((0, int(h * 0.25), w - 1, h - 1), radius=w // 4, fill=255)
        d.rectangle(((w - neck) // 2, 0, (w + neck) // 2, int(h * 0.3)), fill=255)
    elif shape == "can":
        d.rounded_rectangle((0, 0, w - 1, h - 1), radius=w // 6, fill=255)
    elif shape == "bag":
        d.polygon([(w * 0.08, 0), (w * 0.92, 0), (w - 1, h - 1), (0, h - 1)], fill=255)
    else:  # jar
        d.ellipse((0, 0, w - 1, h - 1), fill=255)
    return mask


@cache
def sprite(look: Look) -> Image.Image:
    """The package seen from above, RGBA (transparent outside its silhouette)."""
    aspect = ASPECT[look.shape]
    w, h = (SPRITE, round(SPRITE / aspect)) if aspect > 1 else (round(SPRITE * aspect), SPRITE)
    img = Image.new("RGB", (w, h), look.base)
    draw = ImageDraw.Draw(img)
    _pattern(draw, look, w, h)
    # The label: a panel with the first words of the name, then the barcode below it.
    words = look.name.split()
    label = " ".join(words[:2])[:14]
    font = _font(max(10, w // 7))
    panel_h = max(14, h // 6)
    top = int(h * 0.58)
    draw.rectangle((int(w * 0.06), top, int(w * 0.94), top + panel_h), fill=look.base)
    draw.text((int(w * 0.1), top + 1), label, fill=look.text, font=font)
    bw = int(w * 0.6)
    bars = _barcode(look.gtin, bw, max(8, h // 10)).convert("RGB")
    img.paste(bars, ((w - bars.width) // 2, min(h - bars.height - 2, top + panel_h + 4)))
    # A darker rim gives the silhouette an edge against a similar background.
    rim = tuple(max(0, c - 60) for c in look.base)
    draw.rectangle((0, 0, w - 1, h - 1), outline=rim, width=max(2, w // 40))
    rgba = img.convert("RGBA")
    rgba.putalpha(_outline(look.shape, w, h))
    return rgba
