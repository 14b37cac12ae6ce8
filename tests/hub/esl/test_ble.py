"""Bluetooth ESL Service codec (byte layouts from ESLS 1.0) and the bleak driver through a
fake client at the seam."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from hub.esl.ble import codec, ots
from hub.esl.ble.codec import BasicState, Char, ErrorCode, EslAddress, KeyMaterial, LedPattern
from hub.esl.ble.driver import BleEsl, BleEslError, EslResponseError, OtsError


def test_esl_address_is_7_bit_group_and_8_bit_id_little_endian() -> None:
    assert EslAddress(group=3, esl_id=0x11).encode() == bytes([0x11, 0x03])
    assert EslAddress(group=0x7F, esl_id=0xFE).encode() == b"\xfe\x7f"
    assert EslAddress.decode(b"\x11\x83") == EslAddress(3, 0x11)  # bit 15 is RFU
    with pytest.raises(codec.BleCodecError):
        EslAddress(group=0x80, esl_id=1)
    with pytest.raises(codec.BleCodecError):
        EslAddress(group=1, esl_id=0xFF)  # the broadcast ID is not an address


def test_key_material_and_time() -> None:
    key = KeyMaterial(bytes(range(16)), bytes(range(16, 24)))
    assert key.encode() == bytes(range(24)) and KeyMaterial.decode(bytes(range(24))) == key
    assert codec.encode_absolute_time(0x12345678) == b"\x78\x56\x34\x12"
    assert codec.encode_absolute_time(2**32 + 5) == b"\x05\x00\x00\x00"


@pytest.mark.parametrize(
    ("cmd", "wire"),
    [
        (codec.ping(0x11), "0011"),
        (codec.unassociate(0x11), "0111"),
        (codec.service_reset(0x11), "0211"),
        (codec.factory_reset(0x11), "0311"),
        (codec.update_complete(0x11), "0411"),
        (codec.read_sensor_data(0x11, 2), "101102"),
        (codec.refresh_display(0x11, 0), "111100"),
        (codec.display_image(0x11, 0, 3), "20110003"),
        (codec.display_timed_image(0xFF, 1, 2, 0x01020304), "60ff010204030201"),
        (
            codec.led_control(
                0x11,
                0,
                LedPattern(
                    color=0xCC,
                    pattern=0x0102030405,
                    off_period=10,
                    on_period=20,
                    repeat_type=1,
                    repeats=3,
                ),
            ),
            "b01100cc05040302010a140700",
        ),
        (
            codec.led_timed_control(
                0x11,
                1,
                LedPattern(
                    color=0x03, pattern=1, off_period=1, on_period=1, repeat_type=0, repeats=0x7FFF
                ),
                0xAABBCCDD,
            ),
            "f011010301000000000101feffddccbbaa",
        ),
    ],
)
def test_control_point_commands(cmd: codec.Command, wire: str) -> None:
    assert cmd.encode().hex() == wire
    assert len(cmd.encode()) == codec.tlv_length(cmd.opcode)
    assert codec.decode_command(bytes.fromhex(wire)) == cmd


def test_command_lengths_follow_the_opcode_nibble() -> None:
    assert [codec.tlv_length(op) for op in codec.Opcode] == [2, 2, 2, 2, 2, 3, 3, 4, 8, 13, 17]
    with pytest.raises(codec.BleCodecError):
        codec.decode_command(bytes.fromhex("2011"))  # Display Image without its indexes


@pytest.mark.parametrize(
    ("wire", "response"),
    [
        ("000b", codec.Response("error", error=ErrorCode.QUEUE_FULL)),
        ("0003", codec.Response("error", error=ErrorCode.INVALID_STATE)),
        ("0102", codec.Response("led_state", led=2)),
        (
            "101300",
            codec.Response(
                "basic_state",
                state=BasicState.SERVICE_NEEDED
                | BasicState.SYNCHRONIZED
                | BasicState.PENDING_DISPLAY_UPDATE,
            ),
        ),
        ("110104", codec.Response("display_state", display=1, image=4)),
        ("2e00aabb", codec.Response("sensor_value", sensor=0, data=b"\xaa\xbb")),
    ],
)
def test_responses(wire: str, response: codec.Response) -> None:
    assert codec.decode_response(bytes.fromhex(wire)) == response
    assert response.encode().hex() == wire


def test_several_responses_in_one_pawr_slot_and_sync_payload() -> None:
    found = codec.decode_responses(bytes.fromhex("0102110001000a"))
    assert [r.kind for r in found] == ["led_state", "display_state", "error"]
    assert found[2].error is ErrorCode.RETRY
    payload = codec.sync_payload(5, [codec.ping(1), codec.display_image(2, 0, 1)])
    assert payload.hex() == "05000120020001"
    with pytest.raises(codec.BleCodecError):
        codec.sync_payload(1, [codec.ping(i) for i in range(24)])  # over 48 octets


def test_information_characteristics() -> None:
    displays = codec.decode_display_info(bytes.fromhex("2801800006fa007a0001"))
    assert displays == [codec.DisplayInfo(296, 128, 6), codec.DisplayInfo(250, 122, 1)]
    assert displays[0].encode().hex() == "2801800006"
    assert codec.decode_image_info(b"\x03") == 3
    sensors = codec.decode_sensor_info(bytes.fromhex("0059000159003412"))
    assert sensors == [
        codec.SensorInfo(property_id=0x0059),
        codec.SensorInfo(company_id=0x0059, sensor_code=0x1234),
    ]
    leds = codec.decode_led_info(bytes([0x00 | 0b000011, 0x40 | 0b001100]))
    assert leds == [codec.LedInfo("srgb", red=3), codec.LedInfo("mono", green=3)]
    assert leds[1].encode() == 0x4C
    assert codec.color_brightness(3, 0, 0, 3) == 0xC3
    assert Char.CONTROL_POINT.uuid == "00002bfe-0000-1000-8000-00805f9b34fb"


def test_ots_requests() -> None:
    assert ots.olcp_go_to(ots.image_object_id(2)).hex() == "05020100000000"
    assert ots.oacp_write(0, 9472).hex() == "06000000000025000002"
    r = ots.decode_ots_response(bytes([0x60, 0x06, 0x05]), olcp=False)
    assert not r.ok and r.description == "invalid object"


# -- the driver, against a fake label at the bleak seam ------------------------------------


class FakeLabel:
    """Plays an ESL's GATT server: characteristics, control point, OTS."""

    def __init__(self, *, ots_result: int = 0x01, answer: bool = True) -> None:
        self.chars: dict[str, bytes] = {
            Char.DISPLAY_INFORMATION.uuid: codec.DisplayInfo(296, 128, 6).encode(),
            Char.IMAGE_INFORMATION.uuid: b"\x01",
            Char.SENSOR_INFORMATION.uuid: codec.SensorInfo(property_id=0x59).encode(),
            Char.LED_INFORMATION.uuid: bytes([codec.LedInfo("mono", green=3).encode()]),
        }
        self.writes: list[tuple[str, bytes]] = []
        self.notify: dict[str, Callable[[Any, bytearray], None]] = {}
        self.connected = False
        self.ots_result = ots_result
        self.answer = answer
        self.state = BasicState(0)

    async def connect(self) -> bool:
        self.connected = True
        return True

    async def disconnect(self) -> bool:
        self.connected = False
        return True

    async def read_gatt_char(self, char: str) -> bytearray:
        return bytearray(self.chars[char])

    async def start_notify(self, char: str, callback: Callable[[Any, bytearray], None]) -> None:
        self.notify[char] = callback

    async def write_gatt_char(self, char: str, data: bytes, response: bool | None = None) -> None:
        self.writes.append((char, bytes(data)))
        self.chars[char] = bytes(data)
        if char == Char.CONTROL_POINT.uuid and self.answer:
            self.notify[char](None, bytearray(self.respond(codec.decode_command(bytes(data)))))
        elif char in (ots.OtsChar.OACP.uuid, ots.OtsChar.OLCP.uuid):
            op = 0x60 if char == ots.OtsChar.OACP.uuid else 0x70
            self.notify[char](None, bytearray([op, data[0], self.ots_result]))

    def respond(self, cmd: codec.Command) -> bytes:
        if cmd.opcode == codec.Opcode.DISPLAY_IMAGE:
            if cmd.params[1] > self.chars[Char.IMAGE_INFORMATION.uuid][0]:
                return codec.Response("error", error=ErrorCode.INVALID_IMAGE_INDEX).encode()
            return codec.Response(
                "display_state", display=cmd.params[0], image=cmd.params[1]
            ).encode()
        if cmd.opcode == codec.Opcode.UPDATE_COMPLETE:
            self.state |= BasicState.SYNCHRONIZED
        return codec.Response("basic_state", state=self.state).encode()


class FakeChannel:
    def __init__(self) -> None:
        self.data = b""
        self.closed = False

    async def send(self, data: bytes) -> None:
        self.data += data

    async def close(self) -> None:
        self.closed = True


async def test_driver_configures_a_label() -> None:
    label = FakeLabel()
    async with BleEsl("AA:BB", client_factory=lambda _a: label) as esl:
        assert await esl.displays() == [codec.DisplayInfo(296, 128, 6)]
        assert await esl.max_image_index() == 1
        assert (await esl.leds())[0].type == "mono"
        assert (await esl.sensors())[0].property_id == 0x59
        ap_key = KeyMaterial(b"\x01" * 16, b"\x02" * 8)
        rsp_key = KeyMaterial(b"\x03" * 16, b"\x04" * 8)
        answer = await esl.configure(EslAddress(3, 17), ap_key, rsp_key, 1_000)
        assert answer.state is not None and BasicState.SYNCHRONIZED in answer.state
    assert not label.connected
    assert label.writes[:5] == [
        (Char.ESL_ADDRESS.uuid, b"\x11\x03"),
        (Char.AP_SYNC_KEY_MATERIAL.uuid, ap_key.encode()),
        (Char.RESPONSE_KEY_MATERIAL.uuid, rsp_key.encode()),
        (Char.CURRENT_ABSOLUTE_TIME.uuid, b"\xe8\x03\x00\x00"),
        (Char.CONTROL_POINT.uuid, b"\x04\x11"),
    ]


async def test_driver_raises_error_responses_and_timeouts() -> None:
    async with BleEsl("AA:BB", client_factory=lambda _a: FakeLabel()) as esl:
        shown = await esl.command(codec.display_image(17, 0, 1))
        assert (shown.display, shown.image) == (0, 1)
        with pytest.raises(EslResponseError) as err:
            await esl.command(codec.display_image(17, 0, 9))
        assert err.value.code is ErrorCode.INVALID_IMAGE_INDEX
    async with BleEsl(
        "AA:BB", client_factory=lambda _a: FakeLabel(answer=False), timeout=0.05
    ) as esl:
        with pytest.raises(BleEslError, match="no response"):
            await esl.command(codec.ping(17))


async def test_driver_writes_images_over_ots() -> None:
    label, channel = FakeLabel(), FakeChannel()

    async def open_channel(_address: str) -> FakeChannel:
        return channel

    async with BleEsl(
        "AA:BB", client_factory=lambda _a: label, channel_factory=open_channel
    ) as esl:
        await esl.write_image(1, b"\x00" * 100)
    assert channel.data == b"\x00" * 100 and channel.closed
    assert (ots.OtsChar.OLCP.uuid, ots.olcp_go_to(0x101)) in label.writes
    assert (ots.OtsChar.OACP.uuid, ots.oacp_write(0, 100)) in label.writes
    async with BleEsl(
        "AA:BB", client_factory=lambda _a: FakeLabel(ots_result=0x04), channel_factory=open_channel
    ) as esl:
        with pytest.raises(OtsError, match=r"operation failed|insufficient resources"):
            await esl.write_image(0, b"x")


async def test_connect_failure_is_translated() -> None:
    class Broken(FakeLabel):
        async def connect(self) -> bool:
            raise OSError("adapter gone")

    with pytest.raises(BleEslError, match="connect failed"):
        async with BleEsl("AA:BB", client_factory=lambda _a: Broken()):
            pass
