from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel

from devices.base import Driver as BaseDriver
from devices.base import ForeignPayload
from devices.rfid_gate.codec import CODEC, TagRead
from devices.rfid_gate.config import RfidGateConfig
from devices.rfid_gate.zebra import ZebraPayloadError, decode_zebra
from hub.errors import PayloadError


class ForeignReads(ForeignPayload):
    """Reads that came in a reader's own format (Zebra); no ``seq``."""

    reads: list[TagRead]
    source: str


class Driver(BaseDriver[RfidGateConfig]):
    kind = "rfid_gate"
    config_model = RfidGateConfig
    codec = CODEC

    def subscriptions(self) -> Sequence[str]:
        if self.config.format == "zebra" and self.config.data_topic:
            return (self.config.data_topic,)
        return ()

    def decode_foreign(self, topic: str, payload: bytes) -> Sequence[tuple[str, BaseModel]]:
        if topic != self.config.data_topic:
            return super().decode_foreign(topic, payload)
        try:
            zebra = decode_zebra(payload)
        except ZebraPayloadError as exc:
            raise PayloadError(exc.reason, str(exc)) from None
        if not zebra:
            return ()
        reads = [TagRead(epc=r.epc, antenna=r.antenna, rssi=r.rssi, ts=r.ts) for r in zebra]
        return [("reads", ForeignReads(ts=max(r.ts for r in reads), reads=reads, source="zebra"))]
