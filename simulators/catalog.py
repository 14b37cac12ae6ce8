"""Made-up products the simulators carry through the store: valid GTIN-14s and their tags."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from devices.rfid_gate.epc import gtin_to_sgtin_hex


def gtin_check_digit(body: str) -> str:
    """GS1 mod-10 check digit of a GTIN without its last digit."""
    if not body.isdigit():
        raise ValueError(f"{body!r} is not digits")
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return str(-total % 10)


def make_gtin(body13: str) -> str:
    """A GTIN-14 from its first 13 digits (adds the check digit)."""
    if len(body13) != 13:
        raise ValueError(f"{body13!r} is not 13 digits")
    return body13 + gtin_check_digit(body13)


def ean13(gtin14: str) -> str:
    """What a kiosk's scanner reads off the pack: the GTIN as EAN-13."""
    return gtin14[1:] if gtin14.startswith("0") else gtin14


class Product(NamedTuple):
    gtin: str
    name: str
    grams: float


#: A small demo assortment (GS1 company prefix 6901234, as in the tests' examples).
PRODUCTS: tuple[Product, ...] = tuple(
    Product(make_gtin(f"0690123456{item:03d}"), name, grams)
    for item, name, grams in [
        (789, "Jasmine green tea 500 ml", 520.0),
        (101, "Rice crackers 150 g", 160.0),
        (102, "Soy sauce 500 ml", 610.0),
        (103, "Instant noodles 5-pack", 540.0),
        (104, "Dumplings, frozen 1 kg", 1020.0),
        (105, "Oolong tea 250 g", 265.0),
        (106, "Cotton T-shirt, M", 180.0),
        (107, "Running socks, 3 pairs", 120.0),
        (108, "Phone charger 20 W", 95.0),
        (109, "Umbrella, compact", 310.0),
    ]
)


def tag_epcs(gtin: str, serials: Iterable[int]) -> list[str]:
    """SGTIN-96 EPCs (hex) of items of one product, one per serial number."""
    return [gtin_to_sgtin_hex(gtin, serial) for serial in serials]
