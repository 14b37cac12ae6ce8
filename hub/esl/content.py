"""What a label shows, and on what panel: small frozen value types (picklable, so
render jobs can cross into worker processes).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Literal

from devices.esl_ap.codec import Colors
from hub.pricing.money import format_minor

Template = Literal["standard", "qr"]
PanelKey = Literal["2.13", "2.9", "4.2"]

#: Bumped whenever the drawing changes: every label's content key changes with it,
#: so a new template version reaches every label once.
TEMPLATE_VERSION = 1

SYMBOLS: dict[str, str] = {
    "CNY": "¥",
    "JPY": "¥",
    "USD": "$",
    "EUR": "€",
    "GBP": "£",
    "HKD": "HK$",
    "SGD": "S$",
    "TWD": "NT$",
    "KRW": "₩",
    "MOP": "MOP$",
}


@dataclass(frozen=True, slots=True)
class Panel:
    key: PanelKey
    width: int
    height: int
    inches: float


PANELS: dict[PanelKey, Panel] = {
    "2.13": Panel("2.13", 250, 122, 2.13),
    "2.9": Panel("2.9", 296, 128, 2.9),
    "4.2": Panel("4.2", 400, 300, 4.2),
}


def panel_for(width: int, height: int) -> Panel | None:
    """The panel a label reports by its size, if we have a template for it."""
    for panel in PANELS.values():
        if (panel.width, panel.height) == (width, height):
            return panel
    return None


@dataclass(frozen=True, slots=True)
class LabelContent:
    """Everything drawn on one label; equal content → equal image."""

    gtin: str
    name: str
    #: Regular price, minor units.
    price: int
    currency: str = "CNY"
    promo_price: int | None = None
    promo_text: str | None = None
    #: Price per ``unit_basis`` (e.g. per kg), minor units.
    unit_price: int | None = None
    unit_basis: str | None = None

    @property
    def shown_price(self) -> int:
        """What the shelf tells the shopper they will pay."""
        return self.promo_price if self.promo_price is not None else self.price

    def money(self, minor: int) -> str:
        return SYMBOLS.get(self.currency, self.currency + " ") + format_minor(minor, self.currency)


@dataclass(frozen=True, slots=True)
class RenderJob:
    content: LabelContent
    panel: PanelKey
    colors: Colors
    template: Template = "standard"

    def key(self, fonts: str) -> str:
        """The content key: what the price-tag pool compares, before any rendering."""
        body = {
            "v": TEMPLATE_VERSION,
            "fonts": fonts,
            "panel": self.panel,
            "colors": self.colors,
            "template": self.template,
            **asdict(self.content),
        }
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Rendered:
    key: str
    #: Raw bit planes (see :mod:`devices.esl_ap.codec`).
    planes: bytes
    hash: str
    width: int
    height: int
    colors: Colors
