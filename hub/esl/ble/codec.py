"""Bluetooth SIG Electronic Shelf Label Service (ESLS 1.0, UUID 0x1857): bytes ⇄ values. Pure.

Byte layouts follow the ESL Service specification (checked against Nordic's and
Zephyr's public ESL implementations).  Everything is little-endian.

ESL Control Point (0x2BFE) commands are TLVs: the low nibble of the opcode is
its tag, the high nibble the parameter length minus one, so a command is
``(opcode >> 4) + 2`` octets — opcode, ESL ID (``0xFF`` = broadcast), then its
parameters.  Responses (notified on the control point, or carried in PAwR
response slots) use the same TLV rule without an ESL ID.

==========================  ======  ===========================================
command                     opcode  parameters after the ESL ID
==========================  ======  ===========================================
Ping                        0x00    —
Unassociate from AP         0x01    —
Service Reset               0x02    —
Factory Reset               0x03    —   (no response)
Update Complete             0x04    —
Read Sensor Data            0x10    sensor index
Refresh Display             0x11    display index
Display Image               0x20    display index, image index
Display Timed Image         0x60    display index, image index, absolute time (u32 ms)
LED Control                 0xB0    LED index, colour/brightness, flashing pattern (40 bit),
                                    bit-off period, bit-on period (units of 2 ms),
                                    repeat (bit 0 type: 0 count / 1 seconds; bits 1–15 value)
LED Timed Control           0xF0    as LED Control, then absolute time (u32 ms)
==========================  ======  ===========================================

Responses: Error 0x00 (error code), LED State 0x01 (LED index), Basic State 0x10
(u16 flags), Display State 0x11 (display index, image index), Sensor Value
0x_E (sensor index, data), vendor-specific 0x_F.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from enum import IntEnum, IntFlag
from typing import Literal


class BleCodecError(ValueError):
    """Bytes that are not a valid ESL value (wrong length, reserved values)."""


def uuid16(value: int) -> str:
    """A 16-bit SIG UUID in the 128-bit form bleak takes."""
    return f"0000{value:04x}-0000-1000-8000-00805f9b34fb"


SERVICE = 0x1857


class Char(IntEnum):
    ESL_ADDRESS = 0x2BF6
    AP_SYNC_KEY_MATERIAL = 0x2BF7
    RESPONSE_KEY_MATERIAL = 0x2BF8
    CURRENT_ABSOLUTE_TIME = 0x2BF9
    DISPLAY_INFORMATION = 0x2BFA
    IMAGE_INFORMATION = 0x2BFB
    SENSOR_INFORMATION = 0x2BFC
    LED_INFORMATION = 0x2BFD
    CONTROL_POINT = 0x2BFE

    @property
    def uuid(self) -> str:
        return uuid16(self.value)


class Opcode(IntEnum):
    PING = 0x00
    UNASSOCIATE = 0x01
    SERVICE_RESET = 0x02
    FACTORY_RESET = 0x03
    UPDATE_COMPLETE = 0x04
    READ_SENSOR_DATA = 0x10
    REFRESH_DISPLAY = 0x11
    DISPLAY_IMAGE = 0x20
    DISPLAY_TIMED_IMAGE = 0x60
    LED_CONTROL = 0xB0
    LED_TIMED_CONTROL = 0xF0


class ErrorCode(IntEnum):
    UNSPECIFIED = 0x01
    INVALID_OPCODE = 0x02
    INVALID_STATE = 0x03
    INVALID_IMAGE_INDEX = 0x04
    IMAGE_NOT_AVAILABLE = 0x05
    INVALID_PARAMETERS = 0x06
    CAPACITY_LIMIT = 0x07
    INSUFFICIENT_BATTERY = 0x08
    INSUFFICIENT_RESOURCES = 0x09
    RETRY = 0x0A
    QUEUE_FULL = 0x0B
    IMPLAUSIBLE_ABSOLUTE_TIME = 0x0C


class BasicState(IntFlag):
    SERVICE_NEEDED = 1 << 0
    SYNCHRONIZED = 1 << 1
    ACTIVE_LED = 1 << 2
    PENDING_LED_UPDATE = 1 << 3
    PENDING_DISPLAY_UPDATE = 1 << 4


class DisplayType(IntEnum):
    BLACK_WHITE = 0x01
    THREE_GRAY = 0x02
    FOUR_GRAY = 0x03
    EIGHT_GRAY = 0x04
    SIXTEEN_GRAY = 0x05
    RED_BLACK_WHITE = 0x06
    YELLOW_BLACK_WHITE = 0x07
    RED_YELLOW_BLACK_WHITE = 0x08
    SEVEN_COLOR = 0x09
    SIXTEEN_COLOR = 0x0A
    FULL_RGB = 0x0B


BROADCAST = 0xFF
RESP_ERROR, RESP_LED_STATE, RESP_BASIC_STATE, RESP_DISPLAY_STATE = 0x00, 0x01, 0x10, 0x11
TAG_SENSOR_VALUE, TAG_VENDOR = 0x0E, 0x0F
#: Largest ESL payload in one PAwR sub-event (sync packet or response).
SYNC_PAYLOAD_MAX = 48


def tlv_length(opcode: int) -> int:
    """Total octets of a command or response with this opcode."""
    return (opcode >> 4) + 2


def _u8(value: int, name: str, top: int = 0xFF) -> int:
    if not 0 <= value <= top:
        raise BleCodecError(f"{name} {value} out of range 0–{top}")
    return value


# -- characteristics ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EslAddress:
    """ESL Address: bits 0–7 ESL ID (0–254), bits 8–14 group ID (0–127), bit 15 RFU."""

    group: int
    esl_id: int

    def __post_init__(self) -> None:
        _u8(self.group, "group ID", 0x7F)
        _u8(self.esl_id, "ESL ID", 0xFE)  # 0xFF is the broadcast address

    def encode(self) -> bytes:
        return struct.pack("<H", self.group << 8 | self.esl_id)

    @classmethod
    def decode(cls, data: bytes) -> EslAddress:
        if len(data) != 2:
            raise BleCodecError(f"ESL Address is 2 octets, got {len(data)}")
        (value,) = struct.unpack("<H", data)
        return cls(group=(value >> 8) & 0x7F, esl_id=value & 0xFF)


@dataclass(frozen=True, slots=True)
class KeyMaterial:
    """AP Sync Key Material / ESL Response Key Material: 16-octet session key, 8-octet IV."""

    session_key: bytes
    iv: bytes

    def __post_init__(self) -> None:
        if len(self.session_key) != 16 or len(self.iv) != 8:
            raise BleCodecError("key material is a 16-octet session key and an 8-octet IV")

    def encode(self) -> bytes:
        return self.session_key + self.iv

    @classmethod
    def decode(cls, data: bytes) -> KeyMaterial:
        if len(data) != 24:
            raise BleCodecError(f"key material is 24 octets, got {len(data)}")
        return cls(data[:16], data[16:])


def encode_absolute_time(ms: int) -> bytes:
    """Current Absolute Time: milliseconds as u32 (it wraps after ~49.7 days)."""
    return struct.pack("<I", ms & 0xFFFFFFFF)


def decode_absolute_time(data: bytes) -> int:
    if len(data) != 4:
        raise BleCodecError(f"absolute time is 4 octets, got {len(data)}")
    return int(struct.unpack("<I", data)[0])


@dataclass(frozen=True, slots=True)
class DisplayInfo:
    width: int
    height: int
    type: int

    def encode(self) -> bytes:
        return struct.pack("<HHB", self.width, self.height, self.type)


def decode_display_info(data: bytes) -> list[DisplayInfo]:
    """Display Information: 5 octets (width u16, height u16, display type u8) per display."""
    if not data or len(data) % 5:
        raise BleCodecError(f"display information is 5 octets per display, got {len(data)}")
    return [DisplayInfo(*struct.unpack_from("<HHB", data, i)) for i in range(0, len(data), 5)]


def decode_image_info(data: bytes) -> int:
    """Image Information: the Max_Image_Index (images are 0…max)."""
    if len(data) != 1:
        raise BleCodecError(f"image information is 1 octet, got {len(data)}")
    return data[0]


@dataclass(frozen=True, slots=True)
class SensorInfo:
    """A Mesh device property ID (size 0) or a vendor sensor (size 1: company, code)."""

    property_id: int | None = None
    company_id: int | None = None
    sensor_code: int | None = None

    def encode(self) -> bytes:
        if self.property_id is not None:
            return struct.pack("<BH", 0, self.property_id)
        return struct.pack("<BHH", 1, self.company_id or 0, self.sensor_code or 0)


def decode_sensor_info(data: bytes) -> list[SensorInfo]:
    out: list[SensorInfo] = []
    i = 0
    while i < len(data):
        size = data[i]
        if size == 0 and i + 3 <= len(data):
            out.append(SensorInfo(property_id=struct.unpack_from("<H", data, i + 1)[0]))
            i += 3
        elif size == 1 and i + 5 <= len(data):
            company, code = struct.unpack_from("<HH", data, i + 1)
            out.append(SensorInfo(company_id=company, sensor_code=code))
            i += 5
        else:
            raise BleCodecError(f"bad sensor information at octet {i}")
    return out


@dataclass(frozen=True, slots=True)
class LedInfo:
    """LED Information octet: bits 6–7 type (0 sRGB, 1 monochrome), 4–5 blue, 2–3 green,
    0–1 red (a monochrome LED names its colour this way)."""

    type: Literal["srgb", "mono"]
    red: int = 0
    green: int = 0
    blue: int = 0

    def encode(self) -> int:
        kind = 0 if self.type == "srgb" else 1
        return kind << 6 | _u8(self.blue, "blue", 3) << 4 | self.green << 2 | self.red


def decode_led_info(data: bytes) -> list[LedInfo]:
    out = []
    for b in data:
        if b >> 6 > 1:
            raise BleCodecError(f"LED type {b >> 6} is reserved")
        out.append(LedInfo("srgb" if b >> 6 == 0 else "mono", b & 3, b >> 2 & 3, b >> 4 & 3))
    return out


def color_brightness(red: int, green: int, blue: int, brightness: int) -> int:
    """LED Control colour octet: red bits 0–1, green 2–3, blue 4–5, brightness 6–7."""
    for name, v in (("red", red), ("green", green), ("blue", blue), ("brightness", brightness)):
        _u8(v, name, 3)
    return brightness << 6 | blue << 4 | green << 2 | red


# -- control point commands --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Command:
    opcode: Opcode
    esl_id: int
    params: bytes = b""

    def __post_init__(self) -> None:
        _u8(self.esl_id, "ESL ID")
        if len(self.params) + 2 != tlv_length(self.opcode):
            raise BleCodecError(
                f"{self.opcode.name} takes {tlv_length(self.opcode) - 2} "
                f"parameter octets, got {len(self.params)}"
            )

    def encode(self) -> bytes:
        return bytes([self.opcode, self.esl_id]) + self.params


def ping(esl_id: int) -> Command:
    return Command(Opcode.PING, esl_id)


def unassociate(esl_id: int) -> Command:
    return Command(Opcode.UNASSOCIATE, esl_id)


def service_reset(esl_id: int) -> Command:
    return Command(Opcode.SERVICE_RESET, esl_id)


def factory_reset(esl_id: int) -> Command:
    return Command(Opcode.FACTORY_RESET, esl_id)


def update_complete(esl_id: int) -> Command:
    return Command(Opcode.UPDATE_COMPLETE, esl_id)


def read_sensor_data(esl_id: int, sensor: int) -> Command:
    return Command(Opcode.READ_SENSOR_DATA, esl_id, bytes([_u8(sensor, "sensor index")]))


def refresh_display(esl_id: int, display: int) -> Command:
    return Command(Opcode.REFRESH_DISPLAY, esl_id, bytes([_u8(display, "display index")]))


def display_image(esl_id: int, display: int, image: int) -> Command:
    return Command(
        Opcode.DISPLAY_IMAGE, esl_id, bytes([_u8(display, "display"), _u8(image, "image")])
    )


def display_timed_image(esl_id: int, display: int, image: int, at_ms: int) -> Command:
    """``at_ms`` 0 deletes a queued timed image."""
    params = bytes([_u8(display, "display"), _u8(image, "image")]) + encode_absolute_time(at_ms)
    return Command(Opcode.DISPLAY_TIMED_IMAGE, esl_id, params)


@dataclass(frozen=True, slots=True)
class LedPattern:
    """What LED Control carries after the LED index."""

    color: int = color_brightness(0, 3, 0, 3)  # bright green
    #: 40 bits; bit i = LED on during the i-th bit period.
    pattern: int = 0b1010101010
    off_period: int = 50  # × 2 ms
    on_period: int = 50
    #: 0: repeat ``repeats`` times; 1: repeat for ``repeats`` seconds. ``repeats`` 0:
    #: pattern ignored, the LED stays off (type 0) or on (type 1).
    repeat_type: int = 1
    repeats: int = 10
    extra: bytes = field(default=b"", repr=False)

    def encode(self) -> bytes:
        if not 0 <= self.pattern < 1 << 40:
            raise BleCodecError("flashing pattern is 40 bits")
        if not (1 <= self.off_period <= 255 and 1 <= self.on_period <= 255):
            raise BleCodecError("bit periods are 1–255 (× 2 ms)")
        if self.repeat_type not in (0, 1) or not 0 <= self.repeats <= 0x7FFF:
            raise BleCodecError("repeat type is 0/1 and the duration 15 bits")
        return (
            bytes([self.color])
            + self.pattern.to_bytes(5, "little")
            + bytes([self.off_period, self.on_period])
            + struct.pack("<H", self.repeat_type | self.repeats << 1)
        )

    @classmethod
    def decode(cls, data: bytes) -> LedPattern:
        if len(data) != 10:
            raise BleCodecError("an LED pattern is 10 octets")
        (repeat,) = struct.unpack("<H", data[8:10])
        return cls(
            data[0], int.from_bytes(data[1:6], "little"), data[6], data[7], repeat & 1, repeat >> 1
        )


def led_control(esl_id: int, led: int, pattern: LedPattern) -> Command:
    return Command(Opcode.LED_CONTROL, esl_id, bytes([_u8(led, "LED index")]) + pattern.encode())


def led_timed_control(esl_id: int, led: int, pattern: LedPattern, at_ms: int) -> Command:
    params = bytes([_u8(led, "LED index")]) + pattern.encode() + encode_absolute_time(at_ms)
    return Command(Opcode.LED_TIMED_CONTROL, esl_id, params)


def decode_command(data: bytes) -> Command:
    if len(data) < 2:
        raise BleCodecError("a command is at least an opcode and an ESL ID")
    try:
        op = Opcode(data[0])
    except ValueError:
        raise BleCodecError(f"opcode 0x{data[0]:02x} is not an ESL command") from None
    if len(data) != tlv_length(op):
        raise BleCodecError(f"{op.name} is {tlv_length(op)} octets, got {len(data)}")
    return Command(op, data[1], bytes(data[2:]))


# -- responses -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Response:
    """A decoded response; ``kind`` says which fields are set."""

    kind: Literal["error", "led_state", "basic_state", "display_state", "sensor_value", "vendor"]
    error: ErrorCode | int | None = None
    led: int | None = None
    state: BasicState | None = None
    display: int | None = None
    image: int | None = None
    sensor: int | None = None
    data: bytes = b""
    opcode: int = 0

    def encode(self) -> bytes:
        if self.kind == "error":
            return bytes([RESP_ERROR, int(self.error or 0)])
        if self.kind == "led_state":
            return bytes([RESP_LED_STATE, self.led or 0])
        if self.kind == "basic_state":
            return bytes([RESP_BASIC_STATE]) + struct.pack("<H", int(self.state or 0))
        if self.kind == "display_state":
            return bytes([RESP_DISPLAY_STATE, self.display or 0, self.image or 0])
        if self.kind == "sensor_value":
            if not 1 <= len(self.data) <= 15:
                raise BleCodecError("sensor data is 1–15 octets")
            return bytes([len(self.data) << 4 | TAG_SENSOR_VALUE, self.sensor or 0]) + self.data
        return bytes([self.opcode]) + self.data


def decode_responses(data: bytes) -> list[Response]:
    """One or more concatenated responses (a PAwR response slot carries several)."""
    out: list[Response] = []
    i = 0
    while i < len(data):
        op = data[i]
        end = i + tlv_length(op)
        if end > len(data):
            raise BleCodecError(f"response 0x{op:02x} at octet {i} is truncated")
        body = data[i + 1 : end]
        tag = op & 0x0F
        if op == RESP_ERROR:
            code = body[0]
            out.append(
                Response(
                    "error", error=ErrorCode(code) if code in ErrorCode._value2member_map_ else code
                )
            )
        elif op == RESP_LED_STATE:
            out.append(Response("led_state", led=body[0]))
        elif op == RESP_BASIC_STATE:
            out.append(Response("basic_state", state=BasicState(struct.unpack("<H", body)[0])))
        elif op == RESP_DISPLAY_STATE:
            out.append(Response("display_state", display=body[0], image=body[1]))
        elif tag == TAG_SENSOR_VALUE:
            out.append(Response("sensor_value", sensor=body[0], data=bytes(body[1:])))
        elif tag == TAG_VENDOR:
            out.append(Response("vendor", opcode=op, data=bytes(body)))
        else:
            raise BleCodecError(f"0x{op:02x} is not an ESL response opcode")
        i = end
    return out


def decode_response(data: bytes) -> Response:
    found = decode_responses(data)
    if len(found) != 1:
        raise BleCodecError(f"expected one response, got {len(found)}")
    return found[0]


def sync_payload(group: int, commands: list[Command]) -> bytes:
    """The ESL payload of a PAwR sync packet: group ID, then the group's commands."""
    body = bytes([_u8(group, "group ID", 0x7F)]) + b"".join(c.encode() for c in commands)
    if len(body) > SYNC_PAYLOAD_MAX:
        raise BleCodecError(f"ESL payload is at most {SYNC_PAYLOAD_MAX} octets, got {len(body)}")
    return body
