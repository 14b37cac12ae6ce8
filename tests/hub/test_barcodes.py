"""hub.barcodes: what codes mean (GTIN, GS1, variable measure) and decoding camera frames."""

from __future__ import annotations

import random
from datetime import date

import pytest

from hub.barcodes import (
    ImageDecoder,
    ImageError,
    VariableMeasureRule,
    decode_jpeg,
    default_rules,
    interpret,
    normalize_symbology,
)
from simulators.barcode_images import Distortion, make_frame

RULES = default_rules()


@pytest.mark.parametrize(
    ("code", "symbology", "gtin"),
    [
        ("6901234567892", "ean13", "06901234567892"),
        ("96385074", "EAN-8", "00000096385074"),
        ("036000291452", "upca", "00036000291452"),
        ("06901234567892", "itf14", "06901234567892"),
        ("]E06901234567892", "unknown", "06901234567892"),
    ],
)
def test_plain_gtins(code: str, symbology: str, gtin: str) -> None:
    got = interpret(code, symbology, rules=RULES)
    assert (got.kind, got.gtin, got.problem) == ("gtin", gtin, None)


def test_a_wrong_check_digit_asks_for_a_rescan() -> None:
    got = interpret("6901234567891", "ean13", rules=RULES)
    assert got.kind == "unknown" and got.problem and "scan it again" in got.problem


def test_not_a_product_code() -> None:
    got = interpret("hello world", "qr", rules=RULES)
    assert got.kind == "unknown" and got.problem and "not a product barcode" in got.problem


def test_variable_measure_price_label() -> None:
    got = interpret("2012345012349", "ean13", rules=RULES)
    assert got.kind == "variable_measure"
    assert (got.item_code, got.price, got.grams) == ("12345", 1234, None)
    # Looked up by the code with its value zeroed (GS1 "without variable measure").
    assert got.gtin == "02012345000001"


def test_variable_measure_weight_label_and_upc_a_form() -> None:
    got = interpret("0212345012505", "ean13", rules=RULES)
    assert (got.kind, got.item_code, got.grams, got.price) == (
        "variable_measure",
        "12345",
        1250,
        None,
    )
    assert interpret("212345012505", "upca", rules=RULES).grams == 1250


def test_store_specific_layout_with_price_check_digit() -> None:
    rules = [
        VariableMeasureRule(prefix="20", value="price", value_check_digit=True),
        VariableMeasureRule(prefix="21", value="count", item_digits=5),
    ]
    got = interpret("2012345912342", "ean13", rules=rules)
    assert (got.kind, got.price) == ("variable_measure", 1234)
    bad = interpret("2012345812345", "ean13", rules=rules)  # price check digit 8 ≠ 9
    assert bad.kind == "unknown" and bad.problem and "scale label" in bad.problem
    assert interpret("2112345009995", "ean13", rules=rules).count == 999
    # A prefix with no rule is a plain (restricted-circulation) GTIN.
    assert interpret("2912345009991", "ean13", rules=rules).kind == "gtin"


def test_gs1_128_and_datamatrix_application_identifiers() -> None:
    got = interpret("0106901234567892\x1d10LOT42\x1d17261231", "code128", rules=RULES)
    assert got.kind == "gs1" and got.symbology == "gs1_128"
    assert (got.gtin, got.batch, got.expiry) == ("06901234567892", "LOT42", date(2026, 12, 31))
    dm = interpret("]d20106901234567892310300125021SN1", "x", rules=RULES)
    assert (dm.symbology, dm.kind, dm.grams, dm.serial) == (
        "gs1_datamatrix",
        "variable_measure",
        1250,
        "SN1",
    )
    priced = interpret("(01)06901234567892(3922)1250", "qr", rules=RULES)
    assert (priced.kind, priced.price) == ("variable_measure", 1250)
    link = interpret("https://id.gs1.org/01/06901234567892/21/XYZ", "qr", rules=RULES)
    assert (link.gtin, link.serial) == ("06901234567892", "XYZ")


def test_symbology_names() -> None:
    assert normalize_symbology("EAN-13") == "ean13"
    assert normalize_symbology("]C1") == "gs1_128"
    assert normalize_symbology("Data Matrix".replace(" ", "_")) == "datamatrix"


# -- images ------------------------------------------------------------------------------------

CLEAN = Distortion()


@pytest.mark.parametrize(
    ("code", "symbology"),
    [
        ("6901234567892", "ean13"),
        ("96385074", "ean8"),
        ("0106901234567892\x1d10LOT42", "gs1_128"),
        ("0106901234567892\x1d10LOT42", "datamatrix"),
    ],
)
def test_clean_frames_decode_and_mean_the_same(code: str, symbology: str) -> None:
    frame = make_frame(code, symbology, random.Random(1), distortion=CLEAN)  # type: ignore[arg-type]
    hit = decode_jpeg(frame.jpeg)
    assert hit is not None and hit.decoder == "zxing-cpp"
    assert hit.text.replace("\x1d", "") == code.replace("\x1d", "")
    assert interpret(hit.text, hit.symbology, rules=RULES).gtin is not None


def test_the_fallback_decoder_reports_itself() -> None:
    frame = make_frame("6901234567892", "ean13", random.Random(2), distortion=CLEAN)
    hit = decode_jpeg(frame.jpeg, order=("pyzbar", "zxing-cpp"))
    assert hit is not None and (hit.decoder, hit.symbology) == ("pyzbar", "ean13")


def test_a_frame_without_a_code_and_a_broken_image() -> None:
    blank = make_frame(
        "6901234567892", "ean13", random.Random(3), distortion=Distortion(blur_px=12.0)
    )
    assert decode_jpeg(blank.jpeg) is None
    with pytest.raises(ImageError):
        decode_jpeg(b"\xff\xd8 not really a jpeg")


async def test_decoding_runs_in_a_worker_process() -> None:
    frame = make_frame("6901234561012", "ean13", random.Random(4), severity=0.2)
    async with ImageDecoder(workers=1) as decoder:
        hit = await decoder.decode(frame.jpeg)
    assert hit is not None and hit.text == "6901234561012"
