"""The bits of the Object Transfer Service (OTS, 0x1825) an ESL image upload needs. Pure.

An ESL keeps its images as OTS objects; Nordic's and Zephyr's ESL code give
image *n* the object ID ``0x000000000100 + n`` (the first ID OTS allows).  An
upload selects the object (OLCP Go To), asks to write it (OACP Write: offset,
length, mode), then streams the bytes over the Object Transfer Channel, an
L2CAP connection-oriented channel on PSM 0x0025.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

from hub.esl.ble.codec import BleCodecError, uuid16

SERVICE = 0x1825
OTS_PSM = 0x0025
FIRST_OBJECT_ID = 0x000000000100


class OtsChar(IntEnum):
    FEATURE = 0x2ABD
    OBJECT_NAME = 0x2ABE
    OBJECT_TYPE = 0x2ABF
    OBJECT_SIZE = 0x2AC0
    OBJECT_ID = 0x2AC3
    OBJECT_PROPERTIES = 0x2AC4
    OACP = 0x2AC5
    OLCP = 0x2AC6

    @property
    def uuid(self) -> str:
        return uuid16(self.value)


OACP_WRITE = 0x06
OACP_RESPONSE = 0x60
OLCP_GO_TO = 0x05
OLCP_RESPONSE = 0x70
#: OACP Write mode bit 1: truncate the object to what is written.
WRITE_TRUNCATE = 0x02

OACP_RESULTS = {
    0x01: "success",
    0x02: "opcode not supported",
    0x03: "invalid parameter",
    0x04: "insufficient resources",
    0x05: "invalid object",
    0x06: "channel unavailable",
    0x07: "unsupported type",
    0x08: "procedure not permitted",
    0x09: "object locked",
    0x0A: "operation failed",
}
OLCP_RESULTS = {
    0x01: "success",
    0x02: "opcode not supported",
    0x03: "invalid parameter",
    0x04: "operation failed",
    0x05: "out of bounds",
    0x06: "too many objects",
    0x07: "no object",
    0x08: "object ID not found",
}


def image_object_id(image_index: int) -> int:
    return FIRST_OBJECT_ID + image_index


def olcp_go_to(object_id: int) -> bytes:
    if not FIRST_OBJECT_ID <= object_id < 1 << 48:
        raise BleCodecError(f"object ID 0x{object_id:012x} is out of range")
    return bytes([OLCP_GO_TO]) + object_id.to_bytes(6, "little")


def oacp_write(offset: int, length: int, *, truncate: bool = True) -> bytes:
    mode = WRITE_TRUNCATE if truncate else 0
    return struct.pack("<BIIB", OACP_WRITE, offset, length, mode)


@dataclass(frozen=True, slots=True)
class OtsResponse:
    """An OACP/OLCP indication: (response opcode, request opcode, result code)."""

    request: int
    result: int
    description: str

    @property
    def ok(self) -> bool:
        return self.result == 0x01


def decode_ots_response(data: bytes, *, olcp: bool) -> OtsResponse:
    expected = OLCP_RESPONSE if olcp else OACP_RESPONSE
    if len(data) < 3 or data[0] != expected:
        raise BleCodecError(f"not an {'OLCP' if olcp else 'OACP'} response: {data.hex()}")
    table = OLCP_RESULTS if olcp else OACP_RESULTS
    return OtsResponse(data[1], data[2], table.get(data[2], "reserved"))
