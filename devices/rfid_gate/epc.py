"""EPC decoding for UHF RFID tags (GS1 EPC Tag Data Standard). Pure: no I/O.

Every tag a gate reads passes through :func:`decode_epc`, which turns the hex of
the EPC bank into a :class:`DecodedEpc`: the binary coding scheme
(``sgtin-96``, ``sscc-96``, ...), the pure identity URI, the tag URI, and for an
SGTIN the GTIN-14 and serial. It never raises: an EPC of no known scheme (a
factory-programmed chip serial, a private numbering) or a string that is not hex
at all comes back as the raw hex with ``scheme=None``, because the leaving-tag
rule applies to tags of *any* scheme.

Library: `epcpy <https://github.com/nedap/retail-epcpy>`_ (Nedap Retail, MIT).
It was chosen over ``tag-data-translation`` after trying both:

* epcpy decodes all 21 binary encodings of TDS 1.13/2.x that a tag carries in
  practice (SGTIN-96/198, SSCC-96, SGLN-96/195, GRAI-96/170, GIAI-96/202,
  GSRN(P)-96, GDTI-96/174, SGCN-96, CPI-96/var, ITIP-110/212, GID-96,
  USDOD-96, ADI-var) and gave the expected result on every worked example we
  tested (see ``tests/devices/test_rfid_epc.py``); it is pure Python with no
  dependencies, typed (``py.typed``), MIT-licensed, and maintained (0.1.8,
  February 2025);
* tag-data-translation 4.0.0 is a wrapper around a .NET 8 assembly loaded
  through pythonnet: it needs a .NET 8 runtime on the hub (none is available
  from PyPI or Debian, so it could not even start here: "Failed to create a
  .NET runtime (coreclr)"), and it is licensed BSL 1.1, which forbids
  production use without a commercial licence. Its only extra is the TDS 2.0
  "+" schemes (``sgtin+``, ``dsgtin+``, headers 0xF7-0xFF), which retail
  tags do not use today; such EPCs decode here as unknown (raw hex), which is
  still enough for the leaving-tag rule.

epcpy decodes roughly 16-25 k EPCs/s cold on one core; a gate reports the same
tag many times while it passes, so results are kept in an LRU cache and the
steady state is a dictionary look-up.

The tag URI and the filter value are derived here from the header and the
pure identity, because epcpy's decoded objects do not keep them.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType
from typing import Final
from urllib.parse import unquote

with warnings.catch_warnings():
    # epcpy 0.1.8 writes some regexes as non-raw strings; compiling them when no
    # bytecode is cached warns (DeprecationWarning on 3.11, SyntaxWarning on 3.12+),
    # which a warnings-as-errors run would turn into an import failure.
    warnings.simplefilter("ignore", DeprecationWarning)
    warnings.simplefilter("ignore", SyntaxWarning)
    from epcpy.epc_schemes.base_scheme import GS1Element, GS1Keyed, TagEncodable
    from epcpy.epc_schemes.sgtin import SGTIN, SGTINFilterValue
    from epcpy.utils.common import calculate_checksum
    from epcpy.utils.parsers import TAG_ENCODABLE_CLASSES, hex_to_tag_encodable

__all__ = [
    "DecodedEpc",
    "EpcEncodeError",
    "decode_epc",
    "gtin_to_sgtin_hex",
    "sgtin96_hex",
    "sgtin198_hex",
]

_EMPTY: Final[Mapping[str, str]] = MappingProxyType({})
_HEX_RE: Final = re.compile(r"[0-9A-F]+")
_WHITESPACE_RE: Final = re.compile(r"\s+")
_CACHE_SIZE: Final = 65_536

#: First byte of the EPC (as upper-case hex) -> binary coding scheme name, from epcpy.
_SCHEME_BY_HEADER: Final[Mapping[str, str]] = MappingProxyType(
    {
        f"{int(header.value, 2):02X}": cls.BinaryCodingScheme[header.name].value
        for cls in TAG_ENCODABLE_CLASSES
        for header in cls.BinaryHeader
    }
)

#: Names of the dot-separated components of each scheme's pure identity URI (TDS §6).
_COMPONENTS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "sgtin": ("company_prefix", "item_ref", "serial"),
        "sscc": ("company_prefix", "serial_ref"),
        "sgln": ("company_prefix", "location_ref", "extension"),
        "grai": ("company_prefix", "asset_type", "serial"),
        "giai": ("company_prefix", "asset_ref"),
        "gsrn": ("company_prefix", "service_ref"),
        "gsrnp": ("company_prefix", "service_ref"),
        "gdti": ("company_prefix", "document_type", "serial"),
        "sgcn": ("company_prefix", "coupon_ref", "serial"),
        "cpi": ("company_prefix", "part_ref", "serial"),
        "itip": ("company_prefix", "item_ref", "piece", "total", "serial"),
        "gid": ("manager", "object_class", "serial"),
        "usdod": ("cage", "serial"),
        "adi": ("cage", "part", "serial"),
    }
)

#: What each GS1 scheme's key is called (``gs1_key()`` in epcpy) in :attr:`DecodedEpc.fields`.
_KEY_NAME: Final[Mapping[str, str]] = MappingProxyType(
    {
        "sgtin": "gtin",
        "sscc": "sscc",
        "sgln": "gln",
        "grai": "grai",
        "giai": "giai",
        "gsrn": "gsrn",
        "gsrnp": "gsrnp",
        "gdti": "gdti",
        "sgcn": "sgcn",
    }
)

#: Characters the pure identity URI escapes (TDS §5, table of the GS1 AI 82 set).
_URI_ESCAPES: Final[Mapping[str, str]] = MappingProxyType(
    {"%": "%25", '"': "%22", "&": "%26", "/": "%2F", "<": "%3C", ">": "%3E", "?": "%3F"}
)

#: EPC schemes that carry a GS1 identification key (the others are GID and US DoD ones).
_GS1_FAMILIES: Final = frozenset(_COMPONENTS) - {"gid", "usdod", "adi"}

#: Width of the filter value that follows the 8-bit header (TDS §14); GID has none.
_FILTER_BITS: Final[Mapping[str, int]] = MappingProxyType({"gid": 0, "usdod": 4, "adi": 6})


class EpcEncodeError(ValueError):
    """The values given to an encoder do not make a valid EPC."""


@dataclass(frozen=True, slots=True)
class DecodedEpc:
    """One EPC as read, and what the Tag Data Standard says it is.

    ``scheme`` is ``None`` when the EPC is of no known scheme; the other
    identity attributes are then ``None`` too and ``hex`` is all there is.
    """

    #: The EPC as read: upper-case hex, whitespace removed.
    hex: str
    #: Binary coding scheme, e.g. ``"sgtin-96"``, ``"sscc-96"``, ``"giai-202"``.
    scheme: str | None = None
    #: Pure identity URI, e.g. ``urn:epc:id:sgtin:0614141.812345.6789``.
    uri: str | None = None
    #: Tag URI (adds scheme and filter), e.g. ``urn:epc:tag:sgtin-96:3.0614141.812345.6789``.
    tag_uri: str | None = None
    #: GTIN-14 (SGTIN only).
    gtin: str | None = None
    #: Serial component, URI escapes undone (schemes that have one: SGTIN, GRAI, GDTI, ...).
    serial: str | None = None
    #: Everything else: ``filter``, ``company_prefix``, ``item_ref``, the GS1 key under its
    #: name (``sscc``, ``grai``, ``giai``, ``gln``, ...), ``gs1_element_string``.
    fields: Mapping[str, str] = field(default_factory=lambda: _EMPTY, hash=False)

    @property
    def is_gs1(self) -> bool:
        """Whether the EPC is of a GS1-keyed scheme (not unknown, GID or US DoD)."""
        return self.scheme is not None and self.scheme.split("-", 1)[0] in _GS1_FAMILIES

    @property
    def family(self) -> str | None:
        """The scheme without its size, e.g. ``"sgtin"`` for ``"sgtin-198"``."""
        return None if self.scheme is None else self.scheme.split("-", 1)[0]


def decode_epc(epc_hex: str) -> DecodedEpc:
    """Decode the hex of an EPC bank. Never raises; unknown or garbage input stays raw."""
    try:
        return _decode_cached(epc_hex)
    except Exception:  # a non-str argument (unhashable, ...): still never raise
        return DecodedEpc(hex=str(epc_hex))


@lru_cache(maxsize=_CACHE_SIZE)
def _decode_cached(epc_hex: str) -> DecodedEpc:
    normalised = _WHITESPACE_RE.sub("", epc_hex).upper()
    if len(normalised) < 2 or len(normalised) % 2 or not _HEX_RE.fullmatch(normalised):
        return DecodedEpc(hex=normalised)
    scheme = _SCHEME_BY_HEADER.get(normalised[:2])
    if scheme is None:
        return DecodedEpc(hex=normalised)
    try:
        decoded = hex_to_tag_encodable(normalised)
    except Exception:  # epcpy raises ConvertException, ValueError, IndexError, ...
        return DecodedEpc(hex=normalised)
    return _describe(normalised, scheme, decoded)


def _describe(epc_hex: str, scheme: str, decoded: TagEncodable) -> DecodedEpc:
    uri = decoded.epc_uri
    family = scheme.split("-", 1)[0]
    body = uri.split(":", 4)[4]
    names = _COMPONENTS.get(family, ())
    values = body.split(".", len(names) - 1) if names else []
    fields = {
        name: unquote(value) if "%" in value else value
        for name, value in zip(names, values, strict=False)
    }

    filter_bits = _FILTER_BITS.get(family, 3)
    if filter_bits:
        filter_value = (int(epc_hex[:4], 16) >> (8 - filter_bits)) & ((1 << filter_bits) - 1)
        fields["filter"] = str(filter_value)
        tag_uri = f"urn:epc:tag:{scheme}:{filter_value}.{body}"
    else:
        tag_uri = f"urn:epc:tag:{scheme}:{body}"

    key_name = _KEY_NAME.get(family)
    if key_name is not None and isinstance(decoded, GS1Keyed):
        fields[key_name] = decoded.gs1_key()
    if isinstance(decoded, GS1Element):
        # some schemes need a company prefix length we do not have
        with suppress(Exception):
            fields["gs1_element_string"] = decoded.gs1_element_string()

    return DecodedEpc(
        hex=epc_hex,
        scheme=scheme,
        uri=uri,
        tag_uri=tag_uri,
        gtin=fields.get("gtin") if family == "sgtin" else None,
        serial=fields.get("serial"),
        fields=MappingProxyType(fields),
    )


def sgtin96_hex(company_prefix: str, item_ref: str, serial: int, filter_value: int = 1) -> str:
    """Encode an SGTIN-96 EPC (24 hex digits) through epcpy.

    ``item_ref`` includes the indicator digit, as in the pure identity URI;
    company prefix and item reference together have 13 digits. Filter 1 is
    "point of sale item". Raises :class:`EpcEncodeError` on invalid values.
    """
    if not _is_digits(company_prefix) or not _is_digits(item_ref):
        raise EpcEncodeError("company prefix and item reference must be digits")
    if not 0 <= filter_value <= 7:
        raise EpcEncodeError(f"filter value {filter_value} is not in 0..7")
    if not 0 <= serial < 1 << 38:
        raise EpcEncodeError(f"serial {serial} does not fit SGTIN-96 (38 bits)")
    return _encode_sgtin(
        f"urn:epc:id:sgtin:{company_prefix}.{item_ref}.{serial}",
        SGTIN.BinaryCodingScheme.SGTIN_96,
        filter_value,
        24,
    )


def sgtin198_hex(company_prefix: str, item_ref: str, serial: str, filter_value: int = 1) -> str:
    """Encode an SGTIN-198 EPC (52 hex digits) through epcpy: alphanumeric serials.

    ``serial`` is the plain serial (1-20 characters of the GS1 AI 82 set, e.g.
    ``"32a/b"``); it is URI-escaped here. Raises :class:`EpcEncodeError` on invalid values.
    """
    if not _is_digits(company_prefix) or not _is_digits(item_ref):
        raise EpcEncodeError("company prefix and item reference must be digits")
    if not 0 <= filter_value <= 7:
        raise EpcEncodeError(f"filter value {filter_value} is not in 0..7")
    escaped = "".join(_URI_ESCAPES.get(char, char) for char in serial)
    return _encode_sgtin(
        f"urn:epc:id:sgtin:{company_prefix}.{item_ref}.{escaped}",
        SGTIN.BinaryCodingScheme.SGTIN_198,
        filter_value,
        52,
    )


def gtin_to_sgtin_hex(gtin14: str, serial: int, company_prefix_len: int = 7) -> str:
    """Encode a GTIN plus serial as SGTIN-96 hex, filter 1 (point of sale item).

    ``gtin14`` may also be a GTIN-8/12/13 (it is left-padded with zeros); its
    check digit must be right. ``company_prefix_len`` (6..12) says where the
    GS1 company prefix ends, which the GTIN alone does not tell.
    """
    if not _is_digits(gtin14) or len(gtin14) not in (8, 12, 13, 14):
        raise EpcEncodeError(f"{gtin14!r} is not a GTIN-8/12/13/14")
    gtin = gtin14.zfill(14)
    if calculate_checksum(gtin[:-1]) != int(gtin[-1]):
        raise EpcEncodeError(f"GTIN {gtin} has a wrong check digit")
    if not 6 <= company_prefix_len <= 12:
        raise EpcEncodeError(f"company prefix length {company_prefix_len} is not in 6..12")
    company_prefix = gtin[1 : 1 + company_prefix_len]
    item_ref = gtin[0] + gtin[1 + company_prefix_len : 13]
    return sgtin96_hex(company_prefix, item_ref, serial)


def _is_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _encode_sgtin(
    uri: str, coding: SGTIN.BinaryCodingScheme, filter_value: int, digits: int
) -> str:
    try:
        encoded = SGTIN(uri).hex(
            binary_coding_scheme=coding, filter_value=SGTINFilterValue(str(filter_value))
        )
    except Exception as exc:  # epcpy's ConvertException and friends
        raise EpcEncodeError(str(exc) or type(exc).__name__) from exc
    return encoded.zfill(digits)
