"""Tests of devices/rfid_gate/zebra.py: the Zebra IoT Connector tag data event codec."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from devices.rfid_gate.zebra import ZebraPayloadError, ZebraRead, decode_zebra, encode_zebra

# Shapes from Zebra's IoT Connector documentation (see docs/rfid.md for the sources):
# the tag data event of the Local REST / MQTT payload schema with all tag metadata on ...
SINGLE_EVENT = {
    "type": "SIMPLE",
    "timestamp": "2019-04-16T11:51:29.364+0000",
    "data": {
        "CRC": "b06a",
        "PC": "3000",
        "TID": "e20060030178529d",
        "USER": "123433331234567812345678",
        "antenna": 1,
        "channel": 911.75,
        "eventNum": 1,
        "format": "epc",
        "idHex": "3005fb63ac1f3681ec880468",
        "peakRssi": -39,
        "phase": 0,
        "reads": 1,
        "XPC": "string",
        "accessResults": ["SUCCESS"],
    },
}
# ... and batching on: several events in one JSON array (INVENTORY mode's default members).
BATCH = [
    {
        "data": {
            "antenna": 1,
            "eventNum": 5059,
            "format": "epc",
            "idHex": "3074257bf7194e4000001a85",
            "peakRssi": -37,
            "reads": 1,
        },
        "timestamp": "2023-02-24T10:14:42.851+0000",
        "type": "INVENTORY",
    },
    {
        "data": {
            "antenna": 2,
            "eventNum": 5060,
            "format": "epc",
            "idHex": "e28011700000020d2a412182",
            "peakRssi": -60,
            "reads": 9,
            "MAC": "84:24:8D:EE:0E:AF",
            "userDefined": "gate-out",
        },
        "timestamp": "2023-02-24T10:14:42.902+0000",
        "type": "INVENTORY",
    },
]


def _bytes(document: object) -> bytes:
    return json.dumps(document).encode()


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def test_single_event() -> None:
    [read] = decode_zebra(_bytes(SINGLE_EVENT))

    assert read == ZebraRead(
        epc="3005FB63AC1F3681EC880468",
        antenna=1,
        rssi=-39.0,
        ts=1555415489.364,
        event_type="SIMPLE",
        event_num=1,
        channel=911.75,
        reads=1,
        tid="e20060030178529d",
    )
    assert read.ts == datetime(2019, 4, 16, 11, 51, 29, 364000, tzinfo=UTC).timestamp()


def test_batch() -> None:
    reads = decode_zebra(_bytes(BATCH))

    assert [r.epc for r in reads] == ["3074257BF7194E4000001A85", "E28011700000020D2A412182"]
    assert [r.antenna for r in reads] == [1, 2]
    assert [r.rssi for r in reads] == [-37.0, -60.0]
    assert [r.reads for r in reads] == [1, 9]
    assert reads[0].ts == pytest.approx(_epoch("2023-02-24T10:14:42.851+00:00"))
    assert reads[1].mac == "84:24:8D:EE:0E:AF"
    assert reads[1].user_defined == "gate-out"
    assert reads[0].mac is None
    assert reads[0].event_type == "INVENTORY"


def test_empty_batch_is_no_reads() -> None:
    assert decode_zebra(b"[]") == []


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        pytest.param("2019-04-16T11:51:29.364+0000", "2019-04-16T11:51:29.364+00:00", id="+0000"),
        pytest.param("2024-09-05T01:07:01.785-0600", "2024-09-05T07:07:01.785+00:00", id="-0600"),
        pytest.param("2019-08-24T14:15:22Z", "2019-08-24T14:15:22+00:00", id="Z"),
        pytest.param("2023-05-01T08:55:44.625+03:00", "2023-05-01T05:55:44.625+00:00", id="colon"),
    ],
)
def test_timestamp_offsets(timestamp: str, expected: str) -> None:
    [read] = decode_zebra(_bytes({**SINGLE_EVENT, "timestamp": timestamp}))
    assert read.ts == pytest.approx(_epoch(expected), abs=1e-6)


def test_lowercase_tid_and_mac_keys_are_accepted() -> None:
    data = {**BATCH[0]["data"], "tid": "e2003412", "mac": "84:24:8D:EE:0E:AF"}  # type: ignore[dict-item]
    [read] = decode_zebra(_bytes({**BATCH[0], "data": data}))
    assert (read.tid, read.mac) == ("e2003412", "84:24:8D:EE:0E:AF")


_DROP = object()


def _with_data(**changes: object) -> dict[str, object]:
    data = {k: v for k, v in SINGLE_EVENT["data"].items() if k not in changes}  # type: ignore[attr-defined]
    data.update({k: v for k, v in changes.items() if v is not _DROP})
    return {**SINGLE_EVENT, "data": data}


@pytest.mark.parametrize(
    ("payload", "reason", "mentions"),
    [
        pytest.param(b"not json", "not_json", [], id="not-json"),
        pytest.param(b"\xff\xfe{", "not_json", [], id="bad-utf8"),
        pytest.param(b"", "not_json", [], id="empty"),
        pytest.param(b"[" * 100_000, "not_json", [], id="too-deep"),
        pytest.param(b'"SIMPLE"', "not_object", ["a string"], id="string"),
        pytest.param(b"42", "not_object", ["a number"], id="number"),
        pytest.param(b"null", "not_object", ["null"], id="null"),
        pytest.param(b"[1, 2]", "not_object", ["element 0", "a number"], id="array-of-numbers"),
        pytest.param(
            _bytes([BATCH[0], "x"]), "not_object", ["element 1", "a string"], id="array-mixed"
        ),
        pytest.param(
            _bytes(_with_data(idHex=_DROP)), "invalid", ["event", "data.idHex"], id="no-idHex"
        ),
        pytest.param(
            _bytes([BATCH[0], {**BATCH[1], "data": {**BATCH[1]["data"], "antenna": "x"}}]),  # type: ignore[dict-item]
            "invalid",
            ["element 1", "data.antenna"],
            id="antenna-string-in-batch",
        ),
        pytest.param(
            _bytes(_with_data(antenna="1")), "invalid", ["data.antenna"], id="antenna-numeric-str"
        ),
        pytest.param(
            _bytes(_with_data(antenna=True)), "invalid", ["data.antenna"], id="antenna-bool"
        ),
        pytest.param(_bytes(_with_data(antenna=-1)), "invalid", ["data.antenna"], id="antenna-neg"),
        pytest.param(
            _bytes(_with_data(antenna=_DROP)), "invalid", ["data.antenna"], id="no-antenna"
        ),
        pytest.param(
            _bytes(_with_data(peakRssi=_DROP)), "invalid", ["data.peakRssi"], id="no-peakRssi"
        ),
        pytest.param(
            _bytes(_with_data(peakRssi="-39")), "invalid", ["data.peakRssi"], id="rssi-string"
        ),
        pytest.param(
            b'{"type":"SIMPLE","timestamp":"2019-04-16T11:51:29.364+0000",'
            b'"data":{"idHex":"3074257bf7194e4000001a85","antenna":1,"peakRssi":NaN}}',
            "invalid",
            ["data.peakRssi"],
            id="rssi-nan",
        ),
        pytest.param(
            _bytes(_with_data(idHex="3074zz")), "invalid", ["data.idHex"], id="idHex-not-hex"
        ),
        pytest.param(_bytes(_with_data(idHex="")), "invalid", ["data.idHex"], id="idHex-empty"),
        pytest.param(
            _bytes(_with_data(reads="many")), "invalid", ["data.reads"], id="reads-string"
        ),
        pytest.param(
            _bytes({**SINGLE_EVENT, "data": "3005fb63"}), "invalid", ["data"], id="data-string"
        ),
        pytest.param(
            _bytes({k: v for k, v in SINGLE_EVENT.items() if k != "type"}),
            "invalid",
            ["type"],
            id="no-type",
        ),
        pytest.param(
            _bytes({k: v for k, v in SINGLE_EVENT.items() if k != "timestamp"}),
            "invalid",
            ["timestamp"],
            id="no-timestamp",
        ),
        pytest.param(
            _bytes({**SINGLE_EVENT, "timestamp": "2019-04-16T11:51:29.364"}),
            "invalid",
            ["timestamp", "offset"],
            id="naive-timestamp",
        ),
        pytest.param(
            _bytes({**SINGLE_EVENT, "timestamp": "yesterday"}),
            "invalid",
            ["timestamp"],
            id="timestamp-garbage",
        ),
        pytest.param(
            _bytes({**SINGLE_EVENT, "timestamp": 1555415489.364}),
            "invalid",
            ["timestamp"],
            id="timestamp-number",
        ),
    ],
)
def test_malformed_messages(payload: bytes, reason: str, mentions: list[str]) -> None:
    with pytest.raises(ZebraPayloadError) as caught:
        decode_zebra(payload)

    assert caught.value.reason == reason
    assert isinstance(caught.value, ValueError)
    for words in mentions:
        assert words in caught.value.detail


def _read(**changes: Any) -> ZebraRead:
    base = ZebraRead(
        epc="3074257BF7194E4000001A85",
        antenna=2,
        rssi=-54.0,
        ts=1555415489.364,
        event_type="SIMPLE",
    )
    return dataclasses.replace(base, **changes)


def test_encode_single_has_the_documented_shape() -> None:
    document = json.loads(encode_zebra([_read()], batch=False))

    assert document == {
        "data": {
            "eventNum": 1,
            "format": "epc",
            "idHex": "3074257bf7194e4000001a85",
            "antenna": 2,
            "peakRssi": -54,
        },
        "timestamp": "2019-04-16T11:51:29.364+0000",
        "type": "SIMPLE",
    }
    assert isinstance(document["data"]["peakRssi"], int)


def test_encode_batch_is_an_array() -> None:
    reads = [_read(), _read(epc="E28011700000020D2A412182", rssi=-60.5, reads=3, event_num=77)]
    document = json.loads(encode_zebra(reads, batch=True))

    assert isinstance(document, list)
    assert [event["data"]["eventNum"] for event in document] == [1, 77]
    assert document[1]["data"]["peakRssi"] == -60.5
    assert document[1]["data"]["reads"] == 3
    assert json.loads(encode_zebra([], batch=True)) == []


def test_encode_unbatched_needs_exactly_one_read() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        encode_zebra([_read(), _read()], batch=False)
    with pytest.raises(ValueError, match="exactly one"):
        encode_zebra([], batch=False)


@pytest.mark.parametrize("batch", [True, False])
def test_round_trip(batch: bool) -> None:
    read = _read(
        event_num=12,
        channel=922.25,
        reads=4,
        user_defined="door 3",
        tid="E2801160200074CF085909AD",
        mac="84:24:8D:EE:0E:AF",
    )
    assert decode_zebra(encode_zebra([read], batch=batch)) == [read]


def test_round_trip_keeps_millisecond_timestamps() -> None:
    for millis in (0, 1, 999, 500):
        ts = 1_700_000_000 + millis / 1000
        [back] = decode_zebra(encode_zebra([_read(ts=ts)], batch=False))
        assert back.ts == pytest.approx(ts, abs=1e-6)
