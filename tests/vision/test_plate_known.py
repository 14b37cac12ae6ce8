"""Known-plate lookup with an edit-distance tolerance."""

from __future__ import annotations

import pytest

from vision.errors import VisionError
from vision.plates.known import KnownPlate, KnownPlates, normalised_known


def plates() -> KnownPlates:
    return KnownPlates(
        [
            KnownPlate(plate="粤B12345", member="m-1", tier="vip", account_manager="li.wei"),
            KnownPlate(plate="粤BD88888", member="m-2"),
        ],
        max_distance=1.0,
    )


def test_exact_match() -> None:
    m = plates().lookup("粤B12345")
    assert m is not None and m.known.member == "m-1" and m.distance == 0


def test_one_misread_character_still_matches() -> None:
    m = plates().lookup("皖B12345")  # the province character misread
    assert m is not None and m.known.member == "m-1" and m.distance == 1
    m = plates().lookup("粤BD88B88")  # 8/B
    assert m is not None and m.known.member == "m-2" and m.distance == 0.5


def test_too_far_is_no_match() -> None:
    assert plates().lookup("粤B99345") is None


def test_ambiguous_is_no_match() -> None:
    known = KnownPlates(
        [KnownPlate(plate="粤B12345", member="a"), KnownPlate(plate="粤B12347", member="b")]
    )
    # One edit from both: a VIP alert for the wrong person is worse than none.
    assert known.lookup("粤B12346") is None


def test_normalised_known_checks_the_format() -> None:
    assert normalised_known("粤b·12345", member="m").plate == "粤B12345"
    with pytest.raises(VisionError):
        normalised_known("not a plate")
