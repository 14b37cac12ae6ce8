"""GTIN symbols as module patterns (pure), drawn pixel-exact by the renderer.

Drawing the modules ourselves (rather than scaling a generated picture) keeps
every bar a whole number of pixels on a 1-bit panel, which is what makes a
barcode on a 122-pixel-high label scan.

- a GTIN-14 starting ``000000`` whose last 8 digits are a GTIN-8 → EAN-8;
- starting ``0`` (GTIN-13 and GTIN-12/UPC-A) → EAN-13;
- any other (an indicator digit, i.e. a case or pack) → ITF-14;
- QR (:func:`qr_matrix`) carries the 14 digits in numeric mode.
"""

from __future__ import annotations

from typing import Literal

import segno

Symbology = Literal["ean13", "ean8", "itf14"]

_L = (
    "0001101",
    "0011001",
    "0010011",
    "0111101",
    "0100011",
    "0110001",
    "0101111",
    "0111011",
    "0110111",
    "0001011",
)
_G = tuple(code.translate(str.maketrans("01", "10"))[::-1] for code in _L)
_R = tuple(code.translate(str.maketrans("01", "10")) for code in _L)
#: EAN-13: the first digit picks the L/G parity of the left half.
_PARITY = (
    "LLLLLL",
    "LLGLGG",
    "LLGGLG",
    "LLGGGL",
    "LGLLGG",
    "LGGLLG",
    "LGGGLL",
    "LGLGLG",
    "LGLGGL",
    "LGGLGL",
)
#: Interleaved 2 of 5: narrow (n) / wide (w) per digit.
_ITF = ("nnwwn", "wnnnw", "nwnnw", "wwnnn", "nnwnw", "wnwnn", "nwwnn", "nnnww", "wnnwn", "nwnwn")
ITF_WIDE = 3

#: Quiet zones (modules) left and right of the symbol.
QUIET: dict[Symbology, tuple[int, int]] = {"ean13": (11, 7), "ean8": (7, 7), "itf14": (10, 10)}


class BarcodeError(ValueError):
    """Not a GTIN (wrong length, not digits, bad check digit)."""


def check_digit(body: str) -> str:
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return str(-total % 10)


def normalize_gtin(code: str) -> str:
    """Any GTIN-8/12/13/14 → GTIN-14, checking the check digit."""
    if not code.isdigit() or len(code) not in (8, 12, 13, 14):
        raise BarcodeError(f"{code!r} is not a GTIN-8/12/13/14")
    if check_digit(code[:-1]) != code[-1]:
        raise BarcodeError(f"{code!r} has a wrong check digit")
    return code.zfill(14)


def symbology_for(gtin14: str) -> Symbology:
    if gtin14.startswith("000000"):
        return "ean8"
    return "ean13" if gtin14.startswith("0") else "itf14"


def modules(gtin14: str, *, itf_wide: int = ITF_WIDE) -> tuple[Symbology, str]:
    """The symbology and its modules as ``"1"`` (bar) / ``"0"`` (space), no quiet zones.

    ``itf_wide``: modules of a wide ITF element (3; 2 squeezes an ITF-14 onto a small
    label, still within what scanners read)."""
    gtin14 = normalize_gtin(gtin14)
    kind = symbology_for(gtin14)
    if kind == "ean8":
        return kind, _ean8(gtin14[6:])
    if kind == "ean13":
        return kind, _ean13(gtin14[1:])
    return kind, _itf(gtin14, itf_wide)


def _ean13(code: str) -> str:
    parity = _PARITY[int(code[0])]
    left = "".join((_L if p == "L" else _G)[int(d)] for p, d in zip(parity, code[1:7], strict=True))
    right = "".join(_R[int(d)] for d in code[7:])
    return f"101{left}01010{right}101"


def _ean8(code: str) -> str:
    left = "".join(_L[int(d)] for d in code[:4])
    right = "".join(_R[int(d)] for d in code[4:])
    return f"101{left}01010{right}101"


def _itf(code: str, wide: int) -> str:
    out = ["1010"]  # start: narrow bar, narrow space, narrow bar, narrow space
    for a, b in zip(code[::2], code[1::2], strict=True):
        for bar, space in zip(_ITF[int(a)], _ITF[int(b)], strict=True):
            out.append("1" * (wide if bar == "w" else 1))
            out.append("0" * (wide if space == "w" else 1))
    out.append("1" * wide + "01")  # stop: wide bar, narrow space, narrow bar
    return "".join(out)


def qr_matrix(gtin14: str) -> tuple[tuple[bool, ...], ...]:
    """A QR code of the 14 digits (numeric mode, ECC M): rows of dark modules, no border."""
    qr = segno.make_qr(normalize_gtin(gtin14), error="m", boost_error=False)
    return tuple(tuple(bool(v) for v in row) for row in qr.matrix)
