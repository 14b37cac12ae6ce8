"""Camera frames of real barcodes, rendered and then distorted like a kiosk scanner sees them.

    rng = random.Random(7)
    frame = make_frame("6901234567892", "ean13", rng, severity=0.5)
    frame.jpeg  # bytes for a ``scan_image`` event

1-D symbols (EAN-13/8, UPC-A, GS1-128) are rendered with python-barcode;
GS1 DataMatrix with zxing-cpp's writer (python-barcode has no 2-D symbols).
Distortions, each drawn from ``rng`` and scaled by ``severity`` (0 = clean,
1 = hard): placement on a textured frame, rotation, perspective (a tilted
pack), blur (motion or focus), uneven lighting and contrast, sensor noise,
down-scaling and JPEG compression.  CPU-heavy: run it off the event loop.
Shared by the shopper simulator and ``bench/barcodes.py``.
"""

from __future__ import annotations

import io
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast, get_args

import barcode  # python-barcode: untyped, wrapped in _render_1d
import biip
import zxingcpp
from barcode.writer import ImageWriter
from PIL import Image, ImageChops, ImageEnhance, ImageFilter

Symbology = Literal["ean13", "ean8", "upca", "gs1_128", "datamatrix"]
SYMBOLOGIES: tuple[Symbology, ...] = get_args(Symbology)

#: Size of the simulated scanner camera's frame.
FRAME = (800, 600)


@dataclass(frozen=True, slots=True)
class Distortion:
    rotate_deg: float = 0.0
    #: Largest corner displacement, as a fraction of the symbol's size.
    perspective: float = 0.0
    blur_px: float = 0.0
    #: Horizontal motion blur length in pixels (0 = none).
    motion_px: int = 0
    noise: float = 0.0
    contrast: float = 1.0
    brightness: float = 1.0
    #: Symbol size relative to its rendered size.
    scale: float = 1.0
    jpeg_quality: int = 90


@dataclass(frozen=True, slots=True)
class Frame:
    """A distorted camera frame and what it shows."""

    code: str
    symbology: Symbology
    jpeg: bytes
    distortion: Distortion


def render(code: str, symbology: Symbology) -> Image.Image:
    """The clean symbol, grayscale, with its quiet zone. For ``gs1_128`` and ``datamatrix``
    ``code`` is a GS1 element string with ``\\x1d`` between variable-length fields."""
    if symbology == "datamatrix":
        return _render_datamatrix(code)
    return _render_1d(code, symbology)


#: python-barcode's names for our symbologies.
_PYBARCODE = {"ean13": "ean13", "ean8": "ean8", "upca": "upca", "gs1_128": "gs1_128"}


def _render_1d(code: str, symbology: Symbology) -> Image.Image:
    # python-barcode wants EAN/UPC without the check digit (it adds one) and
    # GS1-128 data with FNC1 as "\xf1" where we carry the GS character.
    data = code[:-1] if symbology in ("ean13", "ean8", "upca") else code.replace("\x1d", "\xf1")
    writer = ImageWriter(mode="L")
    symbol = barcode.get(_PYBARCODE[symbology], data, writer=writer)
    img = symbol.render(
        writer_options={
            "module_width": 0.33,
            "module_height": 12.0,
            "quiet_zone": 4.0,
            "font_size": 8,
            "text_distance": 3.0,
            "dpi": 230,
            "write_text": symbology != "gs1_128",
        }
    )
    if not isinstance(img, Image.Image):
        raise TypeError(f"python-barcode rendered {type(img).__name__}, not an image")
    return img


def _render_datamatrix(code: str) -> Image.Image:
    message = biip.parse(code).gs1_message
    if message is None:
        raise ValueError(f"{code!r} is not a GS1 element string")
    symbol = zxingcpp.create_barcode(
        message.as_hri(), zxingcpp.BarcodeFormat.DataMatrix, gs1=True, forceSquare=True
    )
    # zxing-cpp's Image is a buffer at run time; its stub only declares __array_interface__.
    bitmap = memoryview(cast(Any, symbol.to_image(scale=6)))
    height, width = bitmap.shape or (0, 0)
    return Image.frombuffer("L", (width, height), bitmap.tobytes(), "raw", "L", 0, 1)


def random_distortion(rng: random.Random, severity: float) -> Distortion:
    s = max(0.0, min(severity, 1.0))
    return Distortion(
        rotate_deg=rng.uniform(-1, 1) * 22 * s,
        perspective=rng.uniform(0, 0.15) * s,
        blur_px=rng.uniform(0, 1.8) * s,
        motion_px=round(rng.uniform(0, 4) * s) if rng.random() < 0.25 else 0,
        noise=rng.uniform(0, 30) * s,
        contrast=1.0 - rng.uniform(0, 0.6) * s,
        brightness=1.0 + rng.uniform(-0.3, 0.15) * s,
        scale=1.0 - rng.uniform(0, 0.45) * s,
        jpeg_quality=int(92 - rng.uniform(0, 60) * s),
    )


def distort(symbol: Image.Image, d: Distortion, rng: random.Random) -> Image.Image:
    """Place ``symbol`` on a camera frame and apply ``d``; returns a grayscale frame."""
    img = symbol.convert("L")
    if d.scale != 1.0:
        w, h = img.size
        img = img.resize(
            (max(8, int(w * d.scale)), max(8, int(h * d.scale))), Image.Resampling.BILINEAR
        )
    # Fit into the frame with a margin, as a pack held in front of the camera.
    fit = min((FRAME[0] * 0.8) / img.width, (FRAME[1] * 0.8) / img.height, 1.0)
    if fit < 1.0:
        img = img.resize((int(img.width * fit), int(img.height * fit)), Image.Resampling.LANCZOS)
    if d.perspective > 0:
        img = _perspective(img, d.perspective, rng)
    if d.rotate_deg:
        img = img.rotate(d.rotate_deg, Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    frame = _background(rng)
    fit = min(FRAME[0] / img.width, FRAME[1] / img.height, 1.0)
    if fit < 1.0:
        img = img.resize((int(img.width * fit), int(img.height * fit)), Image.Resampling.LANCZOS)
    x = rng.randint(0, FRAME[0] - img.width)
    y = rng.randint(0, FRAME[1] - img.height)
    # Only the symbol's dark parts print over the background (multiply).
    patch = frame.crop((x, y, x + img.width, y + img.height))
    frame.paste(ImageChops.multiply(patch, img), (x, y))
    if d.motion_px > 1:
        # A horizontal smear of ``motion_px`` pixels (the pack moving past the camera):
        # squeeze and stretch back, a box blur along x only.
        w, h = frame.size
        frame = frame.resize((w // d.motion_px, h), Image.Resampling.BOX).resize(
            (w, h), Image.Resampling.BILINEAR
        )
    if d.blur_px > 0:
        frame = frame.filter(ImageFilter.GaussianBlur(d.blur_px))
    frame = ImageEnhance.Contrast(frame).enhance(d.contrast)
    frame = ImageEnhance.Brightness(frame).enhance(d.brightness)
    if d.noise > 0:
        noise = Image.effect_noise(FRAME, d.noise)  # Gaussian around 128
        frame = ImageChops.add(frame, noise, scale=1.0, offset=-128)
    return frame


def to_jpeg(img: Image.Image, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=max(5, min(quality, 95)))
    return buf.getvalue()


def make_frame(
    code: str,
    symbology: Symbology,
    rng: random.Random,
    *,
    severity: float = 0.5,
    distortion: Distortion | None = None,
) -> Frame:
    d = distortion if distortion is not None else random_distortion(rng, severity)
    img = distort(render(code, symbology), d, rng)
    return Frame(code, symbology, to_jpeg(img, d.jpeg_quality), d)


def make_frames(
    codes: Sequence[tuple[str, Symbology]],
    n: int,
    *,
    seed: int = 0,
    severity: tuple[float, float] = (0.0, 1.0),
) -> list[Frame]:
    """``n`` frames cycling through ``codes``, severities spread uniformly over the range."""
    rng = random.Random(seed)
    frames = []
    for i in range(n):
        code, sym = codes[i % len(codes)]
        frames.append(make_frame(code, sym, rng, severity=rng.uniform(*severity)))
    return frames


def _background(rng: random.Random) -> Image.Image:
    """A light, unevenly lit frame: a gradient, as a kiosk's lamp makes on a pack."""
    base = rng.randint(170, 235)
    spread = rng.randint(0, 50)
    gradient = Image.linear_gradient("L").resize(FRAME).rotate(rng.uniform(0, 360))
    frame = Image.new("L", FRAME, base)
    return ImageChops.subtract(frame, gradient.point(lambda v: v * spread // 255))


def _perspective(img: Image.Image, amount: float, rng: random.Random) -> Image.Image:
    w, h = img.size
    pad = int(max(w, h) * amount) + 2
    canvas = Image.new("L", (w + 2 * pad, h + 2 * pad), 255)
    canvas.paste(img, (pad, pad))
    cw, ch = canvas.size
    src = [(pad, pad), (pad + w, pad), (pad + w, pad + h), (pad, pad + h)]

    def jitter(x: int, y: int) -> tuple[float, float]:
        return (x + rng.uniform(-1, 1) * amount * w, y + rng.uniform(-1, 1) * amount * h)

    dst = [jitter(x, y) for x, y in src]
    # PIL maps output → input, so solve for the transform from dst to src.
    coeffs = _perspective_coeffs(dst, [(float(x), float(y)) for x, y in src])
    return canvas.transform(
        (cw, ch), Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BICUBIC, fillcolor=255
    )


def _perspective_coeffs(
    dst: Sequence[tuple[float, float]], src: Sequence[tuple[float, float]]
) -> tuple[float, ...]:
    """The 8 coefficients mapping ``dst`` points to ``src`` points (a homography)."""
    rows: list[list[float]] = []
    rhs: list[float] = []
    for (x, y), (u, v) in zip(dst, src, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rhs.append(u)
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs.append(v)
    return tuple(_solve(rows, rhs))


def _solve(a: list[list[float]], b: list[float]) -> list[float]:
    """Gauss–Jordan elimination with partial pivoting (8×8: no numpy needed)."""
    n = len(b)
    m = [[*row, b[i]] for i, row in enumerate(a)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        m[col], m[pivot] = m[pivot], m[col]
        p = m[col][col]
        if abs(p) < 1e-12:
            raise ValueError("degenerate perspective")
        m[col] = [v / p for v in m[col]]
        for r in range(n):
            if r != col and m[r][col]:
                f = m[r][col]
                m[r] = [rv - f * cv for rv, cv in zip(m[r], m[col], strict=True)]
    return [m[i][n] for i in range(n)]


__all__ = [
    "FRAME",
    "SYMBOLOGIES",
    "Distortion",
    "Frame",
    "Symbology",
    "distort",
    "make_frame",
    "make_frames",
    "random_distortion",
    "render",
    "to_jpeg",
]
