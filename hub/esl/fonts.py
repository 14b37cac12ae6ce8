"""Fonts for label rendering: CJK and Latin ones for names, a bold sans for prices.

Names are drawn in runs: CJK characters with the CJK font, the rest with the
Latin one, because some CJK fonts (Droid Sans Fallback) carry no Latin glyphs.
Found by path from Debian font packages (first present wins), or from
``STOREHUB_ESL_FONT`` / ``STOREHUB_ESL_LATIN_FONT`` / ``STOREHUB_ESL_PRICE_FONT``.
With none present the renderer still works on Pillow's built-in font, which has no CJK glyphs:
:func:`font_report` says so, and the first render logs it once, naming the
package to install.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from PIL import ImageFont

log = logging.getLogger("storehub.esl.fonts")

Role = Literal["cjk", "latin", "price"]
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

#: (Debian package, file) in order of preference.
CJK_FONTS: tuple[tuple[str, str], ...] = (
    ("fonts-noto-cjk", "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    ("fonts-wqy-zenhei", "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    ("fonts-droid-fallback", "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"),
)
LATIN_FONTS: tuple[tuple[str, str], ...] = (
    ("fonts-dejavu-core", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    ("fonts-liberation", "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf"),
)
PRICE_FONTS: tuple[tuple[str, str], ...] = (
    ("fonts-dejavu-core", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    ("fonts-liberation", "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf"),
    ("fonts-noto-cjk", "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"),
)
INSTALL_HINT = "apt-get install fonts-noto-cjk (or fonts-wqy-zenhei, fonts-droid-fallback)"


@dataclass(frozen=True, slots=True)
class FontChoice:
    role: Role
    path: str | None
    package: str | None

    @property
    def builtin(self) -> bool:
        return self.path is None


@dataclass(frozen=True, slots=True)
class FontReport:
    cjk: FontChoice
    latin: FontChoice
    price: FontChoice

    @property
    def has_cjk(self) -> bool:
        """Whether names in Chinese, Japanese or Korean render as glyphs, not boxes."""
        return not self.cjk.builtin

    @property
    def identity(self) -> str:
        """Part of every content key: a label is re-rendered when its fonts change."""
        return f"{self.cjk.path}|{self.latin.path}|{self.price.path}"

    def problems(self) -> list[str]:
        out = []
        if self.cjk.builtin:
            out.append(
                f"no CJK font found: names render with Pillow's built-in font and "
                f"Chinese characters as boxes; {INSTALL_HINT}"
            )
        if self.price.builtin or self.latin.builtin:
            out.append("no DejaVu/Liberation sans font found (apt-get install fonts-dejavu-core)")
        return out


def _choose(role: Role, env: str, candidates: tuple[tuple[str, str], ...]) -> FontChoice:
    override = os.environ.get(env)
    if override:
        if Path(override).is_file():
            return FontChoice(role, override, None)
        log.warning("%s=%s is not a file; looking for installed fonts", env, override)
    for package, path in candidates:
        if Path(path).is_file():
            return FontChoice(role, path, package)
    return FontChoice(role, None, None)


@cache
def font_report() -> FontReport:
    cjk = _choose("cjk", "STOREHUB_ESL_FONT", CJK_FONTS)
    latin = _choose("latin", "STOREHUB_ESL_LATIN_FONT", LATIN_FONTS)
    price = _choose("price", "STOREHUB_ESL_PRICE_FONT", PRICE_FONTS)
    report = FontReport(cjk, latin, price)
    for problem in report.problems():
        log.warning("ESL rendering: %s", problem)
    return report


@cache
def font(role: Role, size: int) -> Font:
    """The font for ``role`` at ``size`` pixels (cached per process)."""
    report = font_report()
    choice = {"cjk": report.cjk, "latin": report.latin, "price": report.price}[role]
    if choice.path is not None:
        return ImageFont.truetype(choice.path, size)
    return ImageFont.load_default(size)
