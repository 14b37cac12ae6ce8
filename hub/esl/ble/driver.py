"""Configure and drive one Bluetooth ESL over GATT, with ``bleak``.

    async with BleEsl("C0:FF:EE:00:00:01") as esl:
        displays = await esl.displays()
        await esl.configure(EslAddress(group=3, esl_id=17), ap_key, response_key, now_ms)
        await esl.write_image(0, planes)            # OTS, where the label has it
        await esl.command(codec.display_image(17, 0, 0))

The seam is :class:`GattClient` — the five methods of ``bleak.BleakClient`` this
uses — made by ``client_factory(address)`` (default: a real ``BleakClient``), so
tests drive the whole driver with a fake label.  The Object Transfer Channel
(L2CAP CoC, which bleak does not offer) is a second seam, ``channel_factory``.

Errors (bleak's are translated here)::

    HubError
    └── BleEslError            not connected, no answer in time, a GATT failure
        ├── EslResponseError   the label answered with an Error response (.code)
        └── OtsError           an OACP/OLCP step failed (.result)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Protocol, Self

from hub.errors import HubError
from hub.esl.ble import codec, ots
from hub.esl.ble.codec import Char, Command, EslAddress, KeyMaterial, Response

log = logging.getLogger("storehub.esl.ble")


class BleEslError(HubError):
    """Talking to a Bluetooth ESL failed."""


class EslResponseError(BleEslError):
    def __init__(self, command: Command, code: codec.ErrorCode | int) -> None:
        name = code.name if isinstance(code, codec.ErrorCode) else f"0x{code:02x}"
        super().__init__(f"{command.opcode.name} → error {name}")
        self.code = code


class OtsError(BleEslError):
    def __init__(self, step: str, response: ots.OtsResponse) -> None:
        super().__init__(f"OTS {step}: {response.description} (0x{response.result:02x})")
        self.result = response.result


Notify = Callable[[Any, bytearray], None]


class GattClient(Protocol):
    """What the driver uses of ``bleak.BleakClient``."""

    async def connect(self) -> Any: ...
    async def disconnect(self) -> Any: ...
    async def read_gatt_char(self, char_specifier: str) -> bytearray: ...
    async def write_gatt_char(
        self, char_specifier: str, data: bytes, response: bool | None = None
    ) -> None: ...
    async def start_notify(self, char_specifier: str, callback: Notify) -> None: ...


class ObjectChannel(Protocol):
    """The OTS Object Transfer Channel (an L2CAP CoC on PSM 0x0025)."""

    async def send(self, data: bytes) -> None: ...
    async def close(self) -> None: ...


def bleak_client(address: str) -> GattClient:
    from bleak import BleakClient  # imported late: the hub runs without Bluetooth

    client: GattClient = BleakClient(address)
    return client


class BleEsl:
    def __init__(
        self,
        address: str,
        *,
        client_factory: Callable[[str], GattClient] = bleak_client,
        channel_factory: Callable[[str], Awaitable[ObjectChannel]] | None = None,
        timeout: float = 5.0,
    ) -> None:
        self.address = address
        self.timeout = timeout
        self._factory = client_factory
        self._channel_factory = channel_factory
        self._client: GattClient | None = None
        self._responses: asyncio.Queue[bytes] = asyncio.Queue()
        self._ots: dict[int, asyncio.Queue[bytes]] = {
            ots.OtsChar.OACP: asyncio.Queue(),
            ots.OtsChar.OLCP: asyncio.Queue(),
        }
        self.has_ots = False

    async def __aenter__(self) -> Self:
        client = self._factory(self.address)
        try:
            await client.connect()
            await client.start_notify(
                Char.CONTROL_POINT.uuid, lambda _c, data: self._responses.put_nowait(bytes(data))
            )
            for char, queue in self._ots.items():
                try:
                    await client.start_notify(ots.OtsChar(char).uuid, self._put(queue))
                    self.has_ots = True
                except Exception:  # a label without OTS: images come preloaded
                    log.debug("%s has no %s", self.address, ots.OtsChar(char).name)
        except Exception as exc:
            with contextlib.suppress(Exception):
                await client.disconnect()
            raise self._translate(exc, "connect") from None
        self._client = client
        return self

    @staticmethod
    def _put(queue: asyncio.Queue[bytes]) -> Notify:
        return lambda _c, data: queue.put_nowait(bytes(data))

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                await client.disconnect()

    def _translate(self, exc: BaseException, what: str) -> BleEslError:
        if isinstance(exc, BleEslError):
            return exc
        return BleEslError(f"{self.address}: {what} failed: {exc}")

    @property
    def client(self) -> GattClient:
        if self._client is None:
            raise BleEslError(f"{self.address}: not connected")
        return self._client

    async def _read(self, char: Char) -> bytes:
        try:
            return bytes(await self.client.read_gatt_char(char.uuid))
        except Exception as exc:
            raise self._translate(exc, f"reading {char.name}") from None

    async def _write(self, uuid: str, data: bytes, what: str) -> None:
        try:
            await self.client.write_gatt_char(uuid, data, response=True)
        except Exception as exc:
            raise self._translate(exc, f"writing {what}") from None

    # -- configuration ------------------------------------------------------------

    async def configure(
        self, address: EslAddress, ap_key: KeyMaterial, response_key: KeyMaterial, now_ms: int
    ) -> Response:
        """Associate the label: address, both keys, the time, then Update Complete."""
        await self._write(Char.ESL_ADDRESS.uuid, address.encode(), "ESL Address")
        await self._write(Char.AP_SYNC_KEY_MATERIAL.uuid, ap_key.encode(), "AP Sync Key")
        await self._write(Char.RESPONSE_KEY_MATERIAL.uuid, response_key.encode(), "Response Key")
        await self.set_time(now_ms)
        return await self.command(codec.update_complete(address.esl_id))

    async def set_time(self, now_ms: int) -> None:
        await self._write(
            Char.CURRENT_ABSOLUTE_TIME.uuid,
            codec.encode_absolute_time(now_ms),
            "Current Absolute Time",
        )

    async def displays(self) -> list[codec.DisplayInfo]:
        return codec.decode_display_info(await self._read(Char.DISPLAY_INFORMATION))

    async def max_image_index(self) -> int:
        return codec.decode_image_info(await self._read(Char.IMAGE_INFORMATION))

    async def sensors(self) -> list[codec.SensorInfo]:
        return codec.decode_sensor_info(await self._read(Char.SENSOR_INFORMATION))

    async def leds(self) -> list[codec.LedInfo]:
        return codec.decode_led_info(await self._read(Char.LED_INFORMATION))

    # -- the control point ------------------------------------------------------------

    async def command(self, cmd: Command, *, check: bool = True) -> Response:
        """Write a command to the control point and wait for its notified response.

        :class:`EslResponseError` for an Error response (unless ``check`` is False)."""
        while not self._responses.empty():  # a stale notification is not our answer
            self._responses.get_nowait()
        await self._write(Char.CONTROL_POINT.uuid, cmd.encode(), cmd.opcode.name)
        if cmd.opcode == codec.Opcode.FACTORY_RESET:
            return Response("basic_state", state=codec.BasicState(0))  # it answers nothing
        try:
            async with asyncio.timeout(self.timeout):
                data = await self._responses.get()
        except TimeoutError:
            raise BleEslError(f"{self.address}: no response to {cmd.opcode.name}") from None
        response = codec.decode_response(data)
        if check and response.kind == "error":
            raise EslResponseError(cmd, response.error or 0)
        return response

    # -- images over OTS --------------------------------------------------------------

    async def write_image(self, image_index: int, data: bytes) -> None:
        """Store an image in the label's image slot (OLCP Go To, OACP Write, then the
        bytes over the Object Transfer Channel)."""
        if not self.has_ots or self._channel_factory is None:
            raise BleEslError(f"{self.address}: no Object Transfer Service to write images")
        oid = ots.image_object_id(image_index)
        await self._ots_step(ots.OtsChar.OLCP, ots.olcp_go_to(oid), "select image object")
        await self._ots_step(ots.OtsChar.OACP, ots.oacp_write(0, len(data)), "write request")
        channel = await self._channel_factory(self.address)
        try:
            await channel.send(data)
        except Exception as exc:
            raise self._translate(exc, "sending image data") from None
        finally:
            await channel.close()

    async def _ots_step(self, char: ots.OtsChar, payload: bytes, step: str) -> None:
        queue = self._ots[char]
        while not queue.empty():
            queue.get_nowait()
        await self._write(char.uuid, payload, char.name)
        try:
            async with asyncio.timeout(self.timeout):
                data = await queue.get()
        except TimeoutError:
            raise BleEslError(f"{self.address}: no {char.name} indication ({step})") from None
        response = ots.decode_ots_response(data, olcp=char == ots.OtsChar.OLCP)
        if not response.ok:
            raise OtsError(step, response)
