"""Chinese mainland plate normalisation, format checks and the tolerant distance."""

from __future__ import annotations

import pytest

from vision.plates.format import classify, distance, normalise, parse


@pytest.mark.parametrize(
    ("raw", "plate"),
    [
        (" 粤b·12345 ", "粤B12345"),
        ("京A-O1234", "京A01234"),  # O never occurs in a serial: it is a 0
        ("沪ＡＤ１２３４５", "沪AD12345"),  # full-width characters
        ("云L：19283D", "云L19283D"),
        ("苏0·12345", "苏D12345"),  # a digit where the authority letter must be
        ("粤B1234学", "粤B1234学"),
    ],
)
def test_normalise(raw: str, plate: str) -> None:
    assert normalise(raw) == plate


@pytest.mark.parametrize(
    ("plate", "kind"),
    [
        ("粤B12345", "ordinary"),
        ("京AF0236", "ordinary"),
        ("粤BD12345", "new_energy_small"),  # 8 characters, D = battery electric
        ("沪AFA1234", "new_energy_small"),  # F = plug-in hybrid, then letter or digit
        ("苏E12345D", "new_energy_large"),
        ("粤B1234学", "special"),
        ("粤Z1234港", "special"),
        ("粤B1234", "invalid"),  # too short
        ("粤BDA23B5", "invalid"),  # new-energy small: the last four must be digits
        ("XYB12345", "invalid"),  # not a province
        ("粤B12I45", "invalid"),  # I is not used
    ],
)
def test_classify(plate: str, kind: str) -> None:
    assert classify(plate) == kind


def test_parse_reports_province_and_new_energy() -> None:
    info = parse("粤bd12345")
    assert info.valid and info.new_energy and info.province == "粤"
    assert not parse("hello").valid


def test_distance_counts_confusable_characters_half() -> None:
    assert distance("粤B12345", "粤B12345") == 0
    assert distance("粤B12345", "粤812345") == 0.5  # 8/B
    assert distance("粤B12345", "粤B12346") == 1
    assert distance("粤B12345", "粤B1234") == 1
    assert distance("粤B12345", "皖B12345") == 1  # the province character
