"""Barcodes: decode camera frames, and interpret what a code means for checkout.

Decoding (:func:`decode_jpeg`) runs two libraries, zxing-cpp first, pyzbar as
the fallback, and says which one read the code.  Both are C code that holds the
GIL for tens of milliseconds, so :class:`ImageDecoder` runs them in a process
pool: the event loop never waits on them.  ``bench/barcodes.py`` measured the
order (docs/benchmarks.md, "Barcodes"): zxing-cpp without its rotation and
inversion retries is the fastest and reads the most (2-D DataMatrix too); zbar
rescues some blurred or low-resolution 1-D symbols.

Interpretation (:func:`interpret`) uses biip: GTIN check digits, GS1 element
strings (GS1-128, GS1 DataMatrix, GS1 QR) and the store's own variable-measure
codes (GS1 prefixes 02 and 20–29: an item code plus a price or a weight; the
layout differs per store and is configured with :class:`VariableMeasureRule`).
A code that means nothing usable comes back as ``kind="unknown"`` with a
``problem`` the kiosk can show.
"""

from __future__ import annotations

import asyncio
import functools
import io
import multiprocessing
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

import biip
from biip.checksums import gs1_price_weight_check_digit, gs1_standard_check_digit
from biip.gs1_element_strings import GS1ElementString
from biip.gs1_messages import GS1Message
from pydantic import BaseModel, ConfigDict, Field, model_validator

from hub.errors import ignore_sigint
from hub.pricing.money import exponent, round_half_up

if TYPE_CHECKING:
    import zxingcpp
    from PIL import Image

# The decoders (zxing-cpp, pyzbar/libzbar, Pillow) are imported where they are
# used: the config models here are imported by the hub's config, and a hub (or
# the parent process of the decoder pool) that never decodes never loads them.

Decoder = Literal["zxing-cpp", "pyzbar"]
DEFAULT_ORDER: tuple[Decoder, ...] = ("zxing-cpp", "pyzbar")

# -- decoding -------------------------------------------------------------------


@functools.cache
def _zxing_formats() -> zxingcpp.BarcodeFormats:
    """What a kiosk meets: retail 1-D codes, GS1-128, GS1 DataMatrix/QR, DataBar."""
    import zxingcpp

    f = zxingcpp.BarcodeFormat
    return zxingcpp.BarcodeFormats(
        [f.EANUPC, f.Code128, f.DataMatrix, f.QRCode, f.DataBar, f.DataBarExp]
    )


#: AIM symbology identifiers (what zxing-cpp reports) → our symbology names.
_AIM = {
    "]E0": "ean13",
    "]E4": "ean8",
    "]E3": "ean13",
    "]C0": "code128",
    "]C1": "gs1_128",
    "]d1": "datamatrix",
    "]d2": "gs1_datamatrix",
    "]Q1": "qr",
    "]Q3": "gs1_qr",
    "]e0": "gs1_databar",
}
_ZBAR = {
    "EAN13": "ean13",
    "EAN8": "ean8",
    "UPCA": "upca",
    "UPCE": "upce",
    "CODE128": "code128",
    "QRCODE": "qr",
    "DATABAR": "gs1_databar",
    "DATABAR_EXP": "gs1_databar",
    "I25": "itf",
}


class ImageError(ValueError):
    """The frame is not an image the decoders can read (not a JPEG, truncated)."""


@dataclass(frozen=True, slots=True)
class Decoded:
    text: str
    symbology: str
    decoder: Decoder
    #: Time spent decoding, including the attempts that failed before.
    ms: float


def load_gray(jpeg: bytes) -> Image.Image:
    from PIL import Image, UnidentifiedImageError

    try:
        img = Image.open(io.BytesIO(jpeg))
        return img.convert("L")
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise ImageError(f"unreadable image: {exc}") from None


def read_zxing(img: Image.Image) -> tuple[str, str] | None:
    """zxing-cpp, in its fast mode: no rotated or inverted retries (a kiosk frame is
    upright enough, and dark-on-light), plain text with GS separators kept."""
    import zxingcpp

    found = zxingcpp.read_barcodes(
        img,
        formats=_zxing_formats(),
        try_rotate=False,
        try_invert=False,
        text_mode=zxingcpp.TextMode.Plain,
    )
    for barcode in found:
        if barcode.valid and barcode.text:
            sym = _AIM.get(barcode.symbology_identifier[:3], str(barcode.format).lower())
            return barcode.text, sym
    return None


def read_pyzbar(img: Image.Image) -> tuple[str, str] | None:
    for symbol in _pyzbar_read(img):
        text, kind = symbol
        if text:
            return text, _ZBAR.get(kind, kind.lower())
    return None


def _pyzbar_read(img: Image.Image) -> list[tuple[str, str]]:
    # A typed wrapper: pyzbar ships no type hints.  Latin-1 keeps every byte,
    # including the GS (0x1D) between GS1 fields.
    from pyzbar import pyzbar

    # Only the symbologies a kiosk meets: faster, and zbar's DataBar decoder
    # prints assertion warnings on noisy frames (zxing-cpp reads DataBar).
    s = pyzbar.ZBarSymbol
    symbols = [s.EAN13, s.EAN8, s.UPCA, s.UPCE, s.CODE128, s.QRCODE, s.I25]
    found: Any = pyzbar.decode(img, symbols=symbols)
    return [(str(d.data.decode("latin-1")), str(d.type)) for d in found]


_READERS: dict[str, Callable[[Image.Image], tuple[str, str] | None]] = {
    "zxing-cpp": read_zxing,
    "pyzbar": read_pyzbar,
}


def decode_image(img: Image.Image, order: Sequence[Decoder] = DEFAULT_ORDER) -> Decoded | None:
    """Try each decoder in ``order`` until one reads a code."""
    start = time.perf_counter()
    for name in order:
        hit = _READERS[name](img)
        if hit is not None:
            return Decoded(hit[0], hit[1], name, (time.perf_counter() - start) * 1000)
    return None


def decode_jpeg(jpeg: bytes, order: Sequence[Decoder] = DEFAULT_ORDER) -> Decoded | None:
    """Decode one camera frame (JPEG bytes). :class:`ImageError` for a bad image."""
    return decode_image(load_gray(jpeg), order)


class ImageDecoder:
    """Decodes frames in worker processes, off the event loop.

    ``async with ImageDecoder(workers=1) as dec: hit = await dec.decode(jpeg)``
    """

    def __init__(self, *, workers: int = 1, order: Sequence[Decoder] = DEFAULT_ORDER) -> None:
        self.order = tuple(order)
        # "spawn": a fork of a process running an event loop and threads is unsafe.
        self._pool = ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context("spawn"), initializer=ignore_sigint
        )

    async def decode(self, jpeg: bytes) -> Decoded | None:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, decode_jpeg, jpeg, self.order)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def __aenter__(self) -> ImageDecoder:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


# -- interpretation -------------------------------------------------------------


class VariableMeasureRule(BaseModel):
    """One in-store (RCN) layout, EAN-13: ``prefix · item code · [price check] · value · check``.

    ``value`` is a price in minor units (``price``), grams (``weight``) or a count.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    prefix: str = Field(pattern=r"^(02|2[0-9])$")
    value: Literal["price", "weight", "count"]
    item_digits: int = Field(default=5, ge=1, le=6)
    #: A GS1 price/weight check digit before a 4-digit value (then 4 + 1 digits).
    value_check_digit: bool = False

    @model_validator(mode="after")
    def _fits(self) -> VariableMeasureRule:
        if self.value_digits < 3:
            raise ValueError("the value needs at least 3 digits")
        return self

    @property
    def value_digits(self) -> int:
        return 13 - 2 - 1 - self.item_digits - (1 if self.value_check_digit else 0)


def default_rules() -> list[VariableMeasureRule]:
    """Scale labels as common Chinese scales print them: 02 weight, 20–29 price."""
    return [VariableMeasureRule(prefix="02", value="weight")] + [
        VariableMeasureRule(prefix=f"2{d}", value="price") for d in range(10)
    ]


@dataclass(frozen=True, slots=True)
class Scanned:
    """What a scanned code means for checkout."""

    raw: str
    symbology: str
    kind: Literal["gtin", "variable_measure", "gs1", "unknown"]
    #: GTIN-14 to look the item up by (a variable-measure code: its value zeroed).
    gtin: str | None = None
    item_code: str | None = None
    price: int | None = None
    grams: int | None = None
    count: int | None = None
    batch: str | None = None
    expiry: date | None = None
    serial: str | None = None
    problem: str | None = None


_SYMBOLOGY_NAMES = {
    "ean13": "ean13",
    "ean-13": "ean13",
    "ean_13": "ean13",
    "jan": "ean13",
    "ean8": "ean8",
    "ean-8": "ean8",
    "upca": "upca",
    "upc-a": "upca",
    "upc_a": "upca",
    "upce": "upce",
    "upc-e": "upce",
    "code128": "code128",
    "code-128": "code128",
    "gs1-128": "gs1_128",
    "gs1_128": "gs1_128",
    "ean128": "gs1_128",
    "datamatrix": "datamatrix",
    "data_matrix": "datamatrix",
    "gs1_datamatrix": "gs1_datamatrix",
    "qr": "qr",
    "qrcode": "qr",
    "gs1_qr": "gs1_qr",
    "databar": "gs1_databar",
    "gs1_databar": "gs1_databar",
}
_GS1_CAPABLE = {"gs1_128", "gs1_datamatrix", "gs1_qr", "gs1_databar", "code128", "datamatrix", "qr"}


def normalize_symbology(name: str) -> str:
    """A scanner's name for a symbology (or an AIM id such as ``]E0``) → ours."""
    key = name.strip()
    if key.startswith("]"):
        return _AIM.get(key[:3], key)
    return _SYMBOLOGY_NAMES.get(key.lower().replace(" ", ""), key.lower())


def interpret(
    code: str, symbology: str, *, rules: Sequence[VariableMeasureRule] = (), currency: str = "CNY"
) -> Scanned:
    """Meaning of one scanned code (never raises for bad input: see ``problem``)."""
    raw = code.strip()
    sym = normalize_symbology(symbology)
    if raw.startswith("]") and len(raw) > 3:  # an AIM prefix sent in the data
        sym, raw = normalize_symbology(raw[:3]), raw[3:]
    if raw.isdigit() and len(raw) in (8, 12, 13, 14) and sym not in ("gs1_128", "gs1_datamatrix"):
        return _gtin(raw, sym, rules, currency)
    if sym in _GS1_CAPABLE or "\x1d" in raw or raw.startswith(("(", "http")):
        found = _gs1(raw, sym, currency)
        if found is not None:
            return found
    return Scanned(
        raw,
        sym,
        "unknown",
        problem="This code is not a product barcode. Please scan the item's barcode.",
    )


def _gtin(raw: str, sym: str, rules: Sequence[VariableMeasureRule], currency: str) -> Scanned:
    if sym == "upce":  # 8 digits like EAN-8, but a compressed UPC-A
        upc = biip.parse(raw).upc
        raw = upc.as_upc_a() if upc is not None else raw
    if gs1_standard_check_digit(raw[:-1]) != int(raw[-1]):
        return Scanned(
            raw, sym, "unknown", problem="The barcode did not read correctly. Please scan it again."
        )
    gtin14 = raw.zfill(14)
    thirteen = gtin14[1:] if gtin14.startswith("0") else ""
    for rule in rules:
        if thirteen.startswith(rule.prefix):
            return _variable(thirteen, sym, rule, currency)
    return Scanned(raw, sym, "gtin", gtin=gtin14)


def _variable(code: str, sym: str, rule: VariableMeasureRule, currency: str) -> Scanned:
    item_end = 2 + rule.item_digits
    item_code = code[2:item_end]
    value_start = item_end + (1 if rule.value_check_digit else 0)
    digits = code[value_start:12]
    if rule.value_check_digit and gs1_price_weight_check_digit(digits) != int(code[item_end]):
        return Scanned(
            code,
            sym,
            "unknown",
            problem="The scale label did not read correctly. Please scan it again.",
        )
    value = int(digits)
    base = code[:item_end] + "0" * (12 - item_end)
    lookup = (base + str(gs1_standard_check_digit(base))).zfill(14)
    fields: dict[str, Any] = {}
    if rule.value == "price":
        fields["price"] = value  # printed in minor units of the store currency
    elif rule.value == "weight":
        fields["grams"] = value
    else:
        fields["count"] = value
    return Scanned(code, sym, "variable_measure", gtin=lookup, item_code=item_code, **fields)


_AS_GS1 = {"code128": "gs1_128", "datamatrix": "gs1_datamatrix", "qr": "gs1_qr"}


def _element_strings(raw: str) -> Sequence[GS1ElementString]:
    """GS1 element strings from data with GS separators, HRI ``(01)…`` or a Digital Link."""
    if raw.startswith("("):
        try:
            return GS1Message.parse_hri(raw).element_strings
        except biip.ParseError:
            return ()
    result = biip.parse(raw)
    if result.gs1_message is not None:
        return result.gs1_message.element_strings
    if result.gs1_digital_link_uri is not None:
        return result.gs1_digital_link_uri.element_strings
    return ()


def _gs1(raw: str, sym: str, currency: str) -> Scanned | None:
    found: dict[str, Any] = {}
    for es in _element_strings(raw):
        ai = es.ai.ai
        if ai == "01" and es.gtin is not None:
            found["gtin"] = es.gtin.as_gtin_14()
        elif ai == "10":
            found["batch"] = es.value
        elif ai == "21":
            found["serial"] = es.value
        elif ai == "17" and es.date is not None:
            found["expiry"] = es.date
        elif ai == "30":
            found["count"] = int(es.value)
        elif ai.startswith("310") and es.decimal is not None:
            found["grams"] = round_half_up(es.decimal * 1000)  # kg → g
        elif ai.startswith("392") and es.decimal is not None:
            found["price"] = round_half_up(es.decimal * Decimal(10) ** exponent(currency))
    if "gtin" not in found:
        return None
    kind: Literal["gs1", "variable_measure"] = (
        "variable_measure" if ("price" in found or "grams" in found) else "gs1"
    )
    return Scanned(raw, _AS_GS1.get(sym, sym), kind, **found)
