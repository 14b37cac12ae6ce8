"""Tests of devices/rfid_gate/epc.py: EPC decoding and SGTIN-96 encoding."""

from __future__ import annotations

import dataclasses
import time

import pytest

from devices.rfid_gate.epc import (
    DecodedEpc,
    EpcEncodeError,
    decode_epc,
    gtin_to_sgtin_hex,
    sgtin96_hex,
    sgtin198_hex,
)

# GS1 EPC Tag Data Standard 1.13, Appendix E "Example of a specific trade item (SGTIN)":
# urn:epc:tag:sgtin-96:3.0614141.812345.6789 encodes as 3074257BF7194E4000001A85.
TDS_SGTIN96_HEX = "3074257BF7194E4000001A85"


def test_tds_sgtin96_worked_example() -> None:
    epc = decode_epc(TDS_SGTIN96_HEX)

    assert epc.hex == TDS_SGTIN96_HEX
    assert epc.scheme == "sgtin-96"
    assert epc.family == "sgtin"
    assert epc.uri == "urn:epc:id:sgtin:0614141.812345.6789"
    assert epc.tag_uri == "urn:epc:tag:sgtin-96:3.0614141.812345.6789"
    assert epc.gtin == "80614141123458"
    assert epc.serial == "6789"
    assert epc.is_gs1
    assert epc.fields["company_prefix"] == "0614141"
    assert epc.fields["item_ref"] == "812345"
    assert epc.fields["filter"] == "3"
    assert epc.fields["gs1_element_string"] == "(01)80614141123458(21)6789"


# Vectors from epcpy's own test-suite (nedap/retail-epcpy, tests/epc_schemes/test_sscc.py,
# test_grai.py, test_giai.py, test_sgtin.py), which follow the TDS examples.
KNOWN_VECTORS = [
    pytest.param(
        "3154257BF4499602D2000000",
        "sscc-96",
        "urn:epc:id:sscc:0614141.1234567890",
        "urn:epc:tag:sscc-96:2.0614141.1234567890",
        {"sscc": "106141412345678908", "serial_ref": "1234567890", "filter": "2"},
        id="sscc-96",
    ),
    pytest.param(
        "33B4257BF40C0E4000000190",
        "grai-96",
        "urn:epc:id:grai:0614141.12345.400",
        "urn:epc:tag:grai-96:5.0614141.12345.400",
        {"grai": "0614141123452400", "asset_type": "12345", "serial": "400", "filter": "5"},
        id="grai-96",
    ),
    pytest.param(
        "3714257BF40C0E60C287118B266D1780000000000000",
        "grai-170",
        "urn:epc:id:grai:0614141.12345.ABCD1234%2F",
        "urn:epc:tag:grai-170:0.0614141.12345.ABCD1234%2F",
        {"grai": "0614141123452ABCD1234/", "serial": "ABCD1234/"},
        id="grai-170",
    ),
    pytest.param(
        "3434257BF400000000BC6038",
        "giai-96",
        "urn:epc:id:giai:0614141.12345400",
        "urn:epc:tag:giai-96:1.0614141.12345400",
        {"giai": "061414112345400", "asset_ref": "12345400", "filter": "1"},
        id="giai-96",
    ),
    pytest.param(
        "3814257BF58C1858D7C400000000000000000000000000000000",
        "giai-202",
        "urn:epc:id:giai:0614141.1ABc%2FD",
        "urn:epc:tag:giai-202:0.0614141.1ABc%2FD",
        {"giai": "06141411ABc/D", "asset_ref": "1ABc/D"},
        id="giai-202",
    ),
    pytest.param(
        "362579D5D4ADB6172574B98B34C0000000000000000000000000",
        "sgtin-198",
        "urn:epc:id:sgtin:50712192365.88..%25:.13%26",
        "urn:epc:tag:sgtin-198:1.50712192365.88..%25:.13%26",
        {"gtin": "85071219236581", "serial": ".%:.13&", "filter": "1"},
        id="sgtin-198",
    ),
]


@pytest.mark.parametrize(("epc_hex", "scheme", "uri", "tag_uri", "fields"), KNOWN_VECTORS)
def test_known_vectors(
    epc_hex: str, scheme: str, uri: str, tag_uri: str, fields: dict[str, str]
) -> None:
    epc = decode_epc(epc_hex)

    assert epc.scheme == scheme
    assert epc.uri == uri
    assert epc.tag_uri == tag_uri
    assert epc.is_gs1
    for name, value in fields.items():
        assert epc.fields[name] == value


def test_only_sgtin_has_a_gtin() -> None:
    sscc = decode_epc("3154257BF4499602D2000000")
    assert sscc.gtin is None
    assert sscc.serial is None
    grai = decode_epc("33B4257BF40C0E4000000190")
    assert grai.gtin is None
    assert grai.serial == "400"


def test_sgln96() -> None:
    epc = decode_epc("3234257BF400000000000000")
    assert epc.scheme == "sgln-96"
    assert epc.uri == "urn:epc:id:sgln:0614141.00000.0"
    assert epc.fields["gln"] == "0614141000005"


def test_gid96_is_an_epc_but_not_gs1() -> None:
    epc = decode_epc("350000000000000000000000")
    assert epc.scheme == "gid-96"
    assert epc.tag_uri == "urn:epc:tag:gid-96:0.0.0"
    assert "filter" not in epc.fields
    assert not epc.is_gs1


def test_sgtin198_alphanumeric_serial_round_trip() -> None:
    # The pure identity URI escapes "/" as %2F (TDS §5); the plain serial comes back.
    epc = decode_epc(sgtin198_hex("0614141", "712345", "32a/b-X7"))

    assert epc.scheme == "sgtin-198"
    assert len(epc.hex) == 52
    assert epc.uri == "urn:epc:id:sgtin:0614141.712345.32a%2Fb-X7"
    assert epc.tag_uri == "urn:epc:tag:sgtin-198:1.0614141.712345.32a%2Fb-X7"
    assert epc.serial == "32a/b-X7"
    assert epc.gtin == "70614141123451"


def test_sgtin198_encodes_the_epcpy_vector() -> None:
    # epcpy's tests/epc_schemes/test_sgtin.py: serial "..%25:.13%26" is ".%:.13&" unescaped.
    assert (
        sgtin198_hex("50712192365", "88", ".%:.13&")
        == "362579D5D4ADB6172574B98B34C0000000000000000000000000"
    )


@pytest.mark.parametrize(
    "serial",
    [
        pytest.param("", id="empty"),
        pytest.param("x" * 21, id="too-long"),
        pytest.param("a#b", id="bad-char"),
    ],
)
def test_sgtin198_rejects_bad_serials(serial: str) -> None:
    with pytest.raises(EpcEncodeError):
        sgtin198_hex("0614141", "712345", serial)


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("E2801160600002054D3F1A2B", id="impinj-tid-like"),
        pytest.param("xyz", id="not-hex"),
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param("3074257BF7194E4000001A8", id="odd-length"),
        pytest.param("3074257BF7", id="truncated-sgtin"),
        pytest.param("30", id="header-only"),
        pytest.param("0x3074257BF7194E4000001A85", id="0x-prefix"),
        pytest.param("30_74257BF7194E4000001A85", id="underscore"),
        pytest.param("307C257BF7194E4000001A85", id="bad-partition"),
        pytest.param("FF" * 64, id="long-unknown"),
        pytest.param("3074257BF7194E40000\u00e91A85", id="non-ascii"),
    ],
)
def test_unknown_or_garbage_stays_raw(raw: str) -> None:
    epc = decode_epc(raw)

    assert epc.scheme is None
    assert epc.uri is None
    assert epc.tag_uri is None
    assert epc.gtin is None
    assert epc.serial is None
    assert dict(epc.fields) == {}
    assert not epc.is_gs1
    assert epc.hex == "".join(raw.split()).upper()


def test_non_string_never_raises() -> None:
    epc = decode_epc(None)  # type: ignore[arg-type]
    assert epc.scheme is None


def test_case_and_whitespace_are_normalised() -> None:
    epc = decode_epc(" 3074 257bf7194e4000001a85\n")
    assert epc.hex == TDS_SGTIN96_HEX
    assert epc == decode_epc(TDS_SGTIN96_HEX)


def test_decoded_epc_is_frozen_and_hashable() -> None:
    epc = decode_epc(TDS_SGTIN96_HEX)
    with pytest.raises(dataclasses.FrozenInstanceError):
        epc.hex = "00"  # type: ignore[misc]
    with pytest.raises(TypeError):
        epc.fields["serial"] = "1"  # type: ignore[index]
    assert len({epc, decode_epc(TDS_SGTIN96_HEX)}) == 1
    assert isinstance(DecodedEpc(hex="AB").fields, type(epc.fields))


def test_sgtin96_hex_reproduces_the_tds_example() -> None:
    assert sgtin96_hex("0614141", "812345", 6789, filter_value=3) == TDS_SGTIN96_HEX


def test_gtin_to_sgtin_hex_round_trip() -> None:
    epc_hex = gtin_to_sgtin_hex("80614141123458", 6789)
    assert epc_hex == "3034257BF7194E4000001A85"  # the TDS example with filter 1
    epc = decode_epc(epc_hex)
    assert (epc.gtin, epc.serial, epc.fields["filter"]) == ("80614141123458", "6789", "1")


@pytest.mark.parametrize("prefix_len", range(6, 13))
@pytest.mark.parametrize("serial", [0, 1, 123456789, (1 << 38) - 1])
def test_encode_decode_round_trip(prefix_len: int, serial: int) -> None:
    gtin = "04012345678901"  # valid check digit
    epc = decode_epc(gtin_to_sgtin_hex(gtin, serial, company_prefix_len=prefix_len))
    assert epc.scheme == "sgtin-96"
    assert epc.gtin == gtin
    assert epc.serial == str(serial)
    assert len(epc.fields["company_prefix"]) == prefix_len


def test_short_gtins_are_padded() -> None:
    epc = decode_epc(gtin_to_sgtin_hex("4006381333931", 42))  # a GTIN-13
    assert epc.gtin == "04006381333931"


@pytest.mark.parametrize(
    ("gtin", "serial", "prefix_len"),
    [
        pytest.param("80614141123459", 1, 7, id="bad-check-digit"),
        pytest.param("8061414112345", 1, 7, id="bad-length-and-check"),
        pytest.param("8061414112345X", 1, 7, id="not-digits"),
        pytest.param("80614141123458", 1 << 38, 7, id="serial-too-big"),
        pytest.param("80614141123458", -1, 7, id="negative-serial"),
        pytest.param("80614141123458", 1, 5, id="prefix-too-short"),
        pytest.param("80614141123458", 1, 13, id="prefix-too-long"),
    ],
)
def test_gtin_to_sgtin_hex_rejects_bad_input(gtin: str, serial: int, prefix_len: int) -> None:
    with pytest.raises(EpcEncodeError):
        gtin_to_sgtin_hex(gtin, serial, company_prefix_len=prefix_len)


@pytest.mark.parametrize(
    ("company_prefix", "item_ref", "filter_value"),
    [
        pytest.param("0614141", "81234", 1, id="13-digits-needed"),
        pytest.param("06141", "81234567", 1, id="prefix-too-short"),
        pytest.param("0614141", "812345", 8, id="filter-out-of-range"),
        pytest.param("061414a", "812345", 1, id="not-digits"),
    ],
)
def test_sgtin96_hex_rejects_bad_input(
    company_prefix: str, item_ref: str, filter_value: int
) -> None:
    with pytest.raises(EpcEncodeError):
        sgtin96_hex(company_prefix, item_ref, 1, filter_value=filter_value)


def test_gate_workload_throughput() -> None:
    # A gate reports each tag many times while it passes: 500 tags, 40 reports each.
    tags = [gtin_to_sgtin_hex("80614141123458", 900_000 + i) for i in range(500)]
    workload = tags * 40
    start = time.perf_counter()
    for epc_hex in workload:
        decode_epc(epc_hex)
    rate = len(workload) / (time.perf_counter() - start)
    assert rate >= 20_000, f"{rate:.0f} decodes/s"
