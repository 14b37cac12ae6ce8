"""Label rendering: layouts, bit planes, pixel checks, barcodes that scan."""

from __future__ import annotations

import pytest
from PIL import Image
from pyzbar.pyzbar import decode

from devices.esl_ap.codec import image_hash, image_size
from hub.esl import barcodes
from hub.esl.content import PANELS, LabelContent, PanelKey, RenderJob
from hub.esl.fonts import font_report
from hub.esl.render import NameFont, compose, fit_lines, layout, render

PROMO = LabelContent(
    gtin="06901234567892",
    name="康师傅 红烧牛肉面 五连包 Instant noodles 5-pack",
    price=1290,
    promo_price=990,
    promo_text="限时特价",
    unit_price=2580,
    unit_basis="kg",
)
PLAIN = LabelContent(gtin="06901234567892", name="Jasmine green tea 500 ml", price=350)


def picture(job: RenderJob) -> Image.Image:
    r = render(job)
    panel = PANELS[job.panel]
    return compose(r.planes, panel.width, panel.height, job.colors)


def ink(img: Image.Image, box: tuple[int, int, int, int], color: tuple[int, int, int]) -> int:
    crop = img.crop(box)
    return sum(1 for px in crop.get_flattened_data() if px == color)


def scan(img: Image.Image) -> list[str]:
    big = img.resize((img.width * 3, img.height * 3), Image.Resampling.NEAREST)
    return [d.data.decode() for d in decode(big)]


@pytest.mark.parametrize("panel", list(PANELS))
@pytest.mark.parametrize("colors", ["bw", "bwr"])
def test_planes_fit_the_panel(panel: PanelKey, colors: str) -> None:
    r = render(RenderJob(PROMO, panel, colors))  # type: ignore[arg-type]
    p = PANELS[panel]
    assert len(r.planes) == image_size(p.width, p.height, colors)  # type: ignore[arg-type]
    assert r.hash == image_hash(r.planes) and (r.width, r.height) == (p.width, p.height)


@pytest.mark.parametrize("panel", list(PANELS))
def test_promo_price_is_red_and_regular_price_struck(panel: PanelKey) -> None:
    img = picture(RenderJob(PROMO, panel, "bwr"))
    lay = layout(PANELS[panel])
    red, black = (200, 0, 0), (0, 0, 0)
    assert ink(img, lay.price, red) > 50 and ink(img, lay.price, black) == 0
    assert ink(img, lay.name, black) > 50
    # The strike-through: a row of the old price's box that is black almost end to end.
    x0, y0, x1, y1 = lay.side
    rows = [
        sum(1 for x in range(x0, x1) if img.getpixel((x, y)) == black)
        for y in range(y0, y0 + (y1 - y0) // 2)
    ]
    text_width = max(rows)
    assert any(r >= 0.9 * text_width for r in rows[len(rows) // 4 :])


@pytest.mark.parametrize("panel", list(PANELS))
def test_black_white_panel_has_no_red_and_keeps_the_price(panel: PanelKey) -> None:
    r = render(RenderJob(PROMO, panel, "bw"))
    p = PANELS[panel]
    assert len(r.planes) == (p.width + 7) // 8 * p.height
    img = compose(r.planes, p.width, p.height, "bw")
    assert ink(img, layout(p).price, (0, 0, 0)) > 50


def test_plain_price_drawn_right_aligned_without_promo() -> None:
    img = picture(RenderJob(PLAIN, "2.9", "bwr"))
    lay = layout(PANELS["2.9"])
    assert ink(img, lay.side, (0, 0, 0)) == 0 and ink(img, lay.side, (200, 0, 0)) == 0
    x0, y0, x1, y1 = lay.price
    right = ink(img, ((x0 + x1) // 2, y0, x1, y1), (0, 0, 0))
    assert right > ink(img, (x0, y0, (x0 + x1) // 2, y1), (0, 0, 0))


@pytest.mark.parametrize("panel", list(PANELS))
@pytest.mark.parametrize(
    "gtin", ["06901234567892", "00000096385074", "15400141288763", "00614141000036"]
)
def test_barcode_scans_back_to_the_gtin(panel: PanelKey, gtin: str) -> None:
    content = LabelContent(gtin=gtin, name="x", price=100)
    found = scan(picture(RenderJob(content, panel, "bw")))
    assert [code.zfill(14) for code in found] == [gtin]


@pytest.mark.parametrize("panel", list(PANELS))
def test_qr_template_scans_back_to_the_gtin(panel: PanelKey) -> None:
    assert scan(picture(RenderJob(PLAIN, panel, "bwr", "qr"))) == [PLAIN.gtin]


def test_barcode_kinds() -> None:
    assert barcodes.modules("06901234567892")[0] == "ean13"
    assert barcodes.modules("00000096385074")[0] == "ean8"
    assert barcodes.modules("15400141288763")[0] == "itf14"
    with pytest.raises(barcodes.BarcodeError):
        barcodes.modules("06901234567893")


def test_cjk_names_wrap_between_characters_and_are_cut_when_too_long() -> None:
    fnt, lines = fit_lines("康师傅红烧牛肉面" * 8, (0, 0, 120, 40), max_size=16)
    assert 1 <= len(lines) <= 40 // fnt.line_height and lines[-1].endswith("…")
    assert all(NameFont(fnt.size).getlength(line) <= 120 for line in lines)
    _, short = fit_lines("Tea", (0, 0, 120, 40), max_size=16)
    assert short == ["Tea"]


def test_fonts_report_cjk_support() -> None:
    report = font_report()
    if not report.has_cjk:
        pytest.skip("no CJK font installed: " + "; ".join(report.problems()))
    assert report.cjk.path and report.identity


def test_content_key_is_stable_and_sensitive() -> None:
    job = RenderJob(PROMO, "2.9", "bwr")
    assert job.key("f") == RenderJob(PROMO, "2.9", "bwr").key("f")
    assert job.key("f") != RenderJob(PLAIN, "2.9", "bwr").key("f")
    assert job.key("f") != RenderJob(PROMO, "2.9", "bw").key("f")
    assert render(job).planes == render(job).planes
