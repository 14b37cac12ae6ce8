"""Label rendering with Pillow: a layout per panel, drawn straight into bit planes.

Each ink is its own 1-bit image (black, and red on ``bwr`` panels), so text
is drawn without anti-aliasing (an e-paper pixel is ink or not) and packing
is ``tobytes()``.  Layout, top to bottom::

    ┌──────────────────────────────────────┐
    │ name (wrapped, shrunk to fit)        │
    ├───────────────┬──────────────────────┤
    │ ¥9.90 (struck)│                      │
    │ [promo text]  │   big price          │
    ├───────────────┼──────────────────────┤
    │ unit price    │   barcode / QR       │
    └───────────────┴──────────────────────┘

Pure functions of their arguments (plus the installed fonts): safe to run in
worker processes (:mod:`hub.esl.pool`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from PIL import Image, ImageChops, ImageDraw

from devices.esl_ap.codec import image_hash
from hub.esl import barcodes
from hub.esl.content import PANELS, LabelContent, Panel, Rendered, RenderJob
from hub.esl.fonts import Font, font, font_report

INK = 255
Box = tuple[int, int, int, int]


@dataclass(frozen=True, slots=True)
class Layout:
    name: Box
    side: Box  # struck regular price + promo badge
    price: Box
    unit: Box
    code: Box


def layout(panel: Panel) -> Layout:
    w, h, m = panel.width, panel.height, 3
    name_bottom = int(h * 0.30)
    mid_bottom = int(h * 0.72)
    split = int(w * 0.40)
    code_left = int(w * 0.40) if panel.height >= 200 else int(w * 0.45)
    return Layout(
        name=(m, m, w - m, name_bottom),
        side=(m, name_bottom + 2, split - 2, mid_bottom),
        price=(split, name_bottom + 2, w - m, mid_bottom),
        unit=(m, mid_bottom + 2, code_left - 4, h - m),
        code=(code_left, mid_bottom + 2, w - m, h - m),
    )


class Canvas:
    """One 1-bit image per ink; ``red`` is the black one on a black/white panel."""

    def __init__(self, panel: Panel, colors: str) -> None:
        self.black = Image.new("1", (panel.width, panel.height), 0)
        self.red_img = Image.new("1", (panel.width, panel.height), 0) if colors == "bwr" else None
        self.ink = ImageDraw.Draw(self.black)
        self.red = ImageDraw.Draw(self.red_img) if self.red_img is not None else self.ink

    def planes(self) -> bytes:
        if self.red_img is None:
            return self.black.tobytes()
        # Red wins where both inks were drawn: a pixel shows one colour.
        black = ImageChops.logical_and(self.black, ImageChops.invert(self.red_img))
        return black.tobytes() + self.red_img.tobytes()


# -- text fitting ----------------------------------------------------------------------

_CJK = "\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef"
_TOKEN = re.compile(rf"[{_CJK}]|[^\s{_CJK}]+|\s+")
_RUNS = re.compile(rf"[{_CJK}]+|[^{_CJK}]+")
_IS_CJK = re.compile(rf"[{_CJK}]")


class NameFont:
    """A name's font at one size: CJK runs in the CJK font, the rest in the Latin one."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.cjk = font("cjk", size)
        self.latin = font("latin", size)
        ascents = [f.getbbox("国Ag", anchor="ls")[1] for f in (self.cjk, self.latin)]
        descents = [f.getbbox("国Ag", anchor="ls")[3] for f in (self.cjk, self.latin)]
        self.ascent = int(-min(ascents))
        self.line_height = self.ascent + int(max(descents)) + 2

    def runs(self, text: str) -> Iterator[tuple[str, Font]]:
        for m in _RUNS.finditer(text):
            run = m.group(0)
            yield run, self.cjk if _IS_CJK.match(run) else self.latin

    def getlength(self, text: str) -> float:
        return sum(f.getlength(run) for run, f in self.runs(text))

    def draw(
        self, draw: ImageDraw.ImageDraw, xy: tuple[float, float], text: str, *, fill: int = INK
    ) -> None:
        """Draw with the top of the line at ``xy``."""
        x, baseline = xy[0], xy[1] + self.ascent
        for run, f in self.runs(text):
            draw.text((x, baseline), run, font=f, fill=fill, anchor="ls")
            x += f.getlength(run)


def wrap(text: str, fnt: NameFont, width: int) -> list[str]:
    """Greedy wrap at spaces and between CJK characters; over-long words are cut."""
    lines: list[str] = []
    line = ""
    for token in _TOKEN.findall(text):
        candidate = line + token
        if fnt.getlength(candidate) <= width:
            line = candidate
            continue
        if line.strip():
            lines.append(line.rstrip())
        line = "" if token.isspace() else token
        while fnt.getlength(line) > width and len(line) > 1:  # a word wider than the line
            cut = len(line) - 1
            while cut > 1 and fnt.getlength(line[:cut]) > width:
                cut -= 1
            lines.append(line[:cut])
            line = line[cut:]
    if line.strip():
        lines.append(line.rstrip())
    return lines


def fit_lines(
    text: str, box: Box, *, max_size: int, min_size: int = 10
) -> tuple[NameFont, list[str]]:
    """The largest font size at which ``text`` wraps into ``box``; at the smallest
    size what does not fit is cut with an ellipsis."""
    width, height = box[2] - box[0], box[3] - box[1]
    size = max_size
    while True:
        fnt = NameFont(size)
        lines = wrap(text, fnt, width)
        if len(lines) * fnt.line_height <= height or size <= min_size:
            break
        size -= 1
    keep = max(1, height // fnt.line_height)
    if len(lines) > keep:
        lines = lines[:keep]
        last = lines[-1]
        while last and fnt.getlength(last + "…") > width:
            last = last[:-1]
        lines[-1] = last + "…"
    return fnt, lines


def fit_text(text: str, box: Box, *, max_size: int, min_size: int = 8) -> Font:
    """The largest price font at which one line of ``text`` fits ``box``."""
    width, height = box[2] - box[0], box[3] - box[1]
    size = min(max_size, height)
    while size > min_size:
        fnt = font("price", size)
        left, top, right, bottom = fnt.getbbox(text)
        if right - left <= width and bottom - top <= height:
            return fnt
        size -= 1
    return font("price", min_size)


def draw_text(
    draw: ImageDraw.ImageDraw,
    box: Box,
    text: str,
    fnt: Font,
    *,
    align: str = "left",
    fill: int = INK,
) -> Box:
    """One line of text in ``box``, vertically centred; returns its ink box."""
    left, top, right, bottom = fnt.getbbox(text)
    w, h = right - left, bottom - top
    if align == "right":
        x = box[2] - w
    elif align == "center":
        x = box[0] + (box[2] - box[0] - w) // 2
    else:
        x = box[0]
    y = box[1] + (box[3] - box[1] - h) // 2
    draw.text((x - left, y - top), text, font=fnt, fill=fill)
    return (int(x), int(y), int(x + w), int(y + h))


# -- the label ---------------------------------------------------------------------------


def render(job: RenderJob) -> Rendered:
    """Draw one label; ``key`` identifies its content, ``hash`` its image."""
    panel = PANELS[job.panel]
    canvas = Canvas(panel, job.colors)
    lay = layout(panel)
    c = job.content
    _draw_name(canvas, lay.name, c.name, panel)
    _draw_prices(canvas, lay, c, job.colors)
    if c.unit_price is not None and c.unit_basis:
        text = f"{c.money(c.unit_price)}/{c.unit_basis}"
        draw_text(canvas.ink, lay.unit, text, fit_text(text, lay.unit, max_size=14))
    if job.template == "qr":
        draw_qr(canvas.ink, lay.code, c.gtin)
    else:
        draw_barcode(canvas.ink, lay.code, c.gtin)
    planes = canvas.planes()
    return Rendered(
        key=job.key(font_report().identity),
        planes=planes,
        hash=image_hash(planes),
        width=panel.width,
        height=panel.height,
        colors=job.colors,
    )


def _draw_name(canvas: Canvas, box: Box, name: str, panel: Panel) -> None:
    fnt, lines = fit_lines(name, box, max_size=max(14, panel.height // 8))
    for i, line in enumerate(lines):
        fnt.draw(canvas.ink, (box[0], box[1] + i * fnt.line_height), line)


def _draw_prices(canvas: Canvas, lay: Layout, c: LabelContent, colors: str) -> None:
    if c.promo_price is None:
        text = c.money(c.price)
        draw_text(
            canvas.ink, lay.price, text, fit_text(text, lay.price, max_size=96), align="right"
        )
        return
    promo = c.money(c.promo_price)
    draw_text(canvas.red, lay.price, promo, fit_text(promo, lay.price, max_size=96), align="right")
    x0, y0, x1, y1 = lay.side
    regular_box = (x0, y0, x1, y0 + (y1 - y0) // 2)
    regular = c.money(c.price)
    ink = draw_text(canvas.ink, regular_box, regular, fit_text(regular, regular_box, max_size=28))
    mid = (ink[1] + ink[3]) // 2
    canvas.ink.rectangle((ink[0] - 1, mid - 1, ink[2] + 1, mid), fill=INK)  # strike-through
    if c.promo_text:
        badge = (x0, y0 + (y1 - y0) // 2 + 2, x1, y1)
        canvas.red.rectangle(badge, fill=INK)
        inner = (badge[0] + 2, badge[1] + 1, badge[2] - 2, badge[3] - 1)
        fnt, lines = fit_lines(
            c.promo_text, inner, max_size=max(10, inner[3] - inner[1]), min_size=8
        )
        text = lines[0] if lines else ""
        x = inner[0] + max(0, (inner[2] - inner[0] - int(fnt.getlength(text))) // 2)
        y = inner[1] + max(0, (inner[3] - inner[1] - fnt.line_height) // 2)
        fnt.draw(canvas.red, (x, y), text, fill=0)


def draw_barcode(draw: ImageDraw.ImageDraw, box: Box, gtin: str) -> None:
    for wide in (barcodes.ITF_WIDE, 2):
        kind, bars = barcodes.modules(gtin, itf_wide=wide)
        quiet_l, quiet_r = barcodes.QUIET[kind]
        total = len(bars) + quiet_l + quiet_r
        module = (box[2] - box[0]) // total
        if module >= 1:
            break
    else:
        return  # no room for a scannable symbol; the unit price and text still show
    x = box[0] + (box[2] - box[0] - total * module) // 2 + quiet_l * module
    for i, bit in enumerate(bars):
        if bit == "1":
            draw.rectangle((x + i * module, box[1], x + (i + 1) * module - 1, box[3]), fill=INK)


def draw_qr(draw: ImageDraw.ImageDraw, box: Box, gtin: str) -> None:
    matrix = barcodes.qr_matrix(gtin)
    n = len(matrix) + 4  # a 2-module quiet zone: tight, but the label's edge adds to it
    module = min(box[2] - box[0], box[3] - box[1]) // n
    if module < 1:
        return
    x0 = box[2] - n * module + 2 * module
    y0 = box[1] + (box[3] - box[1] - n * module) // 2 + 2 * module
    for r, row in enumerate(matrix):
        for col, dark in enumerate(row):
            if dark:
                x, y = x0 + col * module, y0 + r * module
                draw.rectangle((x, y, x + module - 1, y + module - 1), fill=INK)


def compose(planes: bytes, width: int, height: int, colors: str) -> Image.Image:
    """The planes as an RGB picture (previews, tests, the CLI's ``esl preview``)."""
    size = (width + 7) // 8 * height
    black = Image.frombytes("1", (width, height), planes[:size])
    out = Image.new("RGB", (width, height), (255, 255, 255))
    out.paste((0, 0, 0), mask=black)
    if colors == "bwr":
        out.paste((200, 0, 0), mask=Image.frombytes("1", (width, height), planes[size : 2 * size]))
    return out
