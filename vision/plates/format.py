"""Chinese mainland licence plates: normalisation and format checks. Pure.

    normalise(" 粤b·12345 ")           -> "粤B12345"
    parse("粤BD12345").kind            -> "new_energy_small"

Formats (GA 36-2018):

- ordinary, 7 characters: province abbreviation, issuing-authority letter, five
  letters or digits (``I`` and ``O`` are never used in the serial, so an OCR ``O`` is
  a ``0`` and an ``I`` a ``1``);
- special 7-character plates end in 学 (driving school), 警 (police), 挂 (trailer),
  港 / 澳 (Hong Kong / Macau cross-border) or 领 (consulate): four alphanumerics + the mark;
- new energy, 8 characters: a small vehicle's serial is ``D``/``F`` (battery electric /
  plug-in hybrid), a letter or digit, then four digits; a large vehicle's is five digits
  then ``D``/``F``.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

from pydantic import BaseModel, ConfigDict

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
SPECIAL_MARKS = "学警挂港澳领"

PlateKind = Literal["ordinary", "new_energy_small", "new_energy_large", "special", "invalid"]

_ALNUM = "[A-HJ-NP-Z0-9]"
_PATTERNS: tuple[tuple[PlateKind, re.Pattern[str]], ...] = (
    ("new_energy_small", re.compile(f"^[{PROVINCES}][A-Z][DF]{_ALNUM}[0-9]{{4}}$")),
    ("new_energy_large", re.compile(f"^[{PROVINCES}][A-Z][0-9]{{5}}[DF]$")),
    ("ordinary", re.compile(f"^[{PROVINCES}][A-Z]{_ALNUM}{{5}}$")),
    ("special", re.compile(f"^[{PROVINCES}][A-Z]{_ALNUM}{{4}}[{SPECIAL_MARKS}]$")),
)
#: Characters OCR confuses in the serial, where ``I``/``O`` cannot occur.
_SERIAL_FIX = str.maketrans({"O": "0", "I": "1"})
#: The authority position is always a letter; digits there are misreads.
_LETTER_FIX = str.maketrans({"0": "D", "1": "I", "8": "B", "5": "S", "2": "Z", "6": "G"})
_SEPARATORS = re.compile(r"[\s·•.\-_:|·・]+")


class PlateInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    plate: str
    kind: PlateKind
    province: str | None = None

    @property
    def valid(self) -> bool:
        return self.kind != "invalid"

    @property
    def new_energy(self) -> bool:
        return self.kind in ("new_energy_small", "new_energy_large")


def normalise(text: str) -> str:
    """Upper case, half-width, no separators; fix I/O in the serial and digits in the
    authority letter. Does not decide whether the result is a valid plate."""
    s = unicodedata.normalize("NFKC", text).upper()
    s = _SEPARATORS.sub("", s)
    if len(s) >= 3 and s[0] in PROVINCES:
        head, letter, serial = s[0], s[1].translate(_LETTER_FIX), s[2:]
        # The special marks are kept; the rest of the serial loses its I/O.
        if serial and serial[-1] in SPECIAL_MARKS:
            serial = serial[:-1].translate(_SERIAL_FIX) + serial[-1]
        else:
            serial = serial.translate(_SERIAL_FIX)
        s = head + letter + serial
    return s


def classify(plate: str) -> PlateKind:
    for kind, pattern in _PATTERNS:
        if pattern.match(plate):
            return kind
    return "invalid"


def parse(text: str) -> PlateInfo:
    """Normalise ``text`` and say which format it has (``invalid`` if none)."""
    plate = normalise(text)
    kind = classify(plate)
    return PlateInfo(plate=plate, kind=kind, province=plate[0] if kind != "invalid" else None)


#: Pairs OCR confuses; a substitution between them costs half an edit.
_CONFUSABLE = {
    frozenset(p)
    for p in ("0D", "0Q", "8B", "1I", "1L", "1T", "5S", "2Z", "6G", "7T", "4A", "U0", "UV")
}


def distance(a: str, b: str) -> float:
    """Levenshtein distance where a confusable substitution (0/D, 8/B, 5/S, ...) costs 0.5."""
    prev = [float(j) for j in range(len(b) + 1)]
    for i, ca in enumerate(a, 1):
        cur = [float(i)]
        for j, cb in enumerate(b, 1):
            if ca == cb:
                sub = 0.0
            elif frozenset((ca, cb)) in _CONFUSABLE:
                sub = 0.5
            else:
                sub = 1.0
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + sub))
        prev = cur
    return prev[-1]
