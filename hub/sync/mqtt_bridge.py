"""MQTT bridge mode: the outbox goes out through the store's own broker.

When the store's Mosquitto is bridged to a cloud broker (``topic
store/s1/cloud/# out 1`` in its bridge section), each batch is published once,
QoS 1, on ``store/{store}/cloud/outbox``: the PUBACK of the local broker means
it holds the message in its persistent bridge queue, so that is the
acknowledgement recorded (status ``accepted``).  The cloud consumer dedupes on
the records' keys exactly as the HTTPS endpoint does.  Publishing goes through
the hub's transport (hub/transport.py is the only MQTT client); pulls, if any,
go to an HTTPS adapter.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from hub.errors import TransportError
from hub.sync.adapter import CloudAdapter
from hub.sync.errors import CloudUnavailable, CloudUnsupported
from hub.sync.protocol import ChangesPage, OutgoingBatch, RecordAck

Publish = Callable[[str, bytes], Awaitable[None]]


class MqttBridgeAdapter:
    def __init__(self, publish: Publish, topic: str, *, inbox: CloudAdapter | None = None) -> None:
        self.publish = publish
        self.topic = topic
        self.inbox = inbox

    async def upload(self, batch: OutgoingBatch) -> list[RecordAck]:
        try:
            await self.publish(self.topic, batch.to_json())
        except TransportError as exc:
            raise CloudUnavailable(f"bridge publish: {exc}") from None
        return [RecordAck(key=r.key, status="accepted") for r in batch.records]

    async def pull(self, cursor: int, *, wait: float) -> ChangesPage:
        if self.inbox is None:
            raise CloudUnsupported("an MQTT bridge does not carry the inbox; set sync.url")
        return await self.inbox.pull(cursor, wait=wait)

    async def heads(self, origin: str) -> dict[str, int] | None:
        # A bridge cannot be asked, and the HTTPS side may not see what came by MQTT:
        # comparing with it could re-queue everything. No reconciliation here.
        return None

    async def aclose(self) -> None:
        if self.inbox is not None:
            await self.inbox.aclose()
