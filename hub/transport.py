"""MQTT transport on aiomqtt — the only module that imports the MQTT client.

- Persistent session (``clean_session=False``, fixed client id) and QoS 1, so
  the broker keeps what arrives for the hub while it is away.
- Manual acknowledgement: a QoS 1 message is PUBACKed only when the hub says
  so (after the journal committed it).  aiomqtt does not expose paho's
  ``manual_ack`` yet (aiomqtt issue #345), so we set it on the paho client it
  wraps; the broker's in-flight window then bounds what the hub holds unacked,
  which is also the hub's back-pressure.
- Reconnect with capped exponential back-off and resubscribe; birth/will of
  the hub on ``store/{store}/hub/state``.
- Errors of aiomqtt/paho are translated to :class:`TransportError`.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import aiomqtt

from hub.errors import TransportError

log = logging.getLogger("storehub.transport")


def reraise_lost_cancel() -> None:
    """Raise the cancellation aiomqtt's ``asyncio.wait_for`` may have swallowed.

    On Python 3.11, ``wait_for`` returns the result when its future completes at the
    moment the task is cancelled, and the cancel is lost: a publishing loop would then
    run on and hold its task group's shutdown for ever. The task still counts the
    request (``cancelling()``), so it is raised here.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


@dataclass(slots=True)
class Incoming:
    topic: str
    payload: bytes
    qos: int
    retain: bool
    mid: int
    #: Which connection delivered it: an ack is only valid on that connection.
    generation: int


@dataclass(frozen=True, slots=True)
class Endpoint:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_file: str | None = None


@dataclass(frozen=True, slots=True)
class WillMessage:
    topic: str
    payload: bytes
    retain: bool = True


Handler = Callable[[Incoming], Awaitable[None]]


def _incoming(message: aiomqtt.Message, generation: int) -> Incoming:
    payload = message.payload
    if not isinstance(payload, bytes | bytearray):
        payload = str(payload).encode() if payload is not None else b""
    return Incoming(
        message.topic.value,
        bytes(payload),
        message.qos,
        message.retain,
        message.mid,
        generation,
    )


class MqttTransport:
    def __init__(
        self,
        endpoint: Endpoint,
        *,
        client_id: str,
        subscriptions: Sequence[str],
        will: WillMessage | None = None,
        on_connect: Callable[[], Awaitable[None]] | None = None,
        keepalive: int = 15,
        backoff_min: float = 0.2,
        backoff_max: float = 10.0,
        manual_ack: bool = True,
    ) -> None:
        self.endpoint = endpoint
        self.client_id = client_id
        self.subscriptions = list(subscriptions)
        self.will = will
        self.on_connect = on_connect
        self.keepalive = keepalive
        self.backoff_min = backoff_min
        self.backoff_max = backoff_max
        self.manual_ack = manual_ack
        self.connected = asyncio.Event()
        self.connects = 0
        self.reconnects = 0
        self.last_error: str | None = None
        self._client: aiomqtt.Client | None = None
        self._generation = 0

    def _make_client(self) -> aiomqtt.Client:
        tls_context = None
        if self.endpoint.tls:
            tls_context = ssl.create_default_context(cafile=self.endpoint.ca_file)
        will = None
        if self.will is not None:
            will = aiomqtt.Will(self.will.topic, self.will.payload, qos=1, retain=self.will.retain)
        return aiomqtt.Client(
            self.endpoint.host,
            self.endpoint.port,
            username=self.endpoint.username,
            password=self.endpoint.password,
            identifier=self.client_id,
            clean_session=False,
            will=will,
            keepalive=self.keepalive,
            tls_context=tls_context,
            timeout=10,
            # aiomqtt's pending-call bookkeeping grows with what is in flight: cap it.
            max_concurrent_outgoing_calls=64,
        )

    async def run(self, handler: Handler) -> None:
        """Connect, subscribe and feed every message to ``handler``; forever."""
        delay = self.backoff_min
        while True:
            try:
                async with self._make_client() as client:
                    if self.manual_ack:
                        # See the module docstring: paho's manual ack, under aiomqtt.
                        client._client.manual_ack_set(True)
                    self._client = client
                    self._generation += 1
                    generation = self._generation
                    for topic in self.subscriptions:
                        await client.subscribe(topic, qos=1)
                    self.connects += 1
                    if self.connects > 1:
                        self.reconnects += 1
                    self.connected.set()
                    log.info("mqtt connected to %s:%s", self.endpoint.host, self.endpoint.port)
                    delay = self.backoff_min
                    if self.on_connect is not None:
                        await self.on_connect()
                    queue = client._queue
                    async for first in client.messages:
                        # aiomqtt's iterator costs a task per message; take what is
                        # already queued directly (bounded, so the loop still turns).
                        await handler(_incoming(first, generation))
                        for _ in range(100):
                            try:
                                message = queue.get_nowait()
                            except asyncio.QueueEmpty:
                                break
                            await handler(_incoming(message, generation))
            except aiomqtt.MqttError as exc:
                self.last_error = str(exc)
                log.warning("mqtt connection lost (%s); retrying in %.1fs", exc, delay)
            finally:
                self.connected.clear()
                self._client = None
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.backoff_max)

    def ack(self, message: Incoming) -> None:
        """PUBACK a QoS 1 message, if the connection that brought it is still up."""
        client = self._client
        if message.qos == 0 or not self.manual_ack or client is None:
            return
        if message.generation != self._generation:
            return  # the broker redelivers it on the new connection
        client._client.ack(message.mid, message.qos)

    async def publish(
        self,
        topic: str,
        payload: bytes,
        *,
        retain: bool = False,
        qos: int = 1,
        timeout: float = 10.0,
    ) -> None:
        """Publish once connected; waits for the PUBACK. :class:`TransportError` on timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TransportError(f"publish to {topic} timed out (broker unreachable)")
            try:
                # asyncio.timeout, not wait_for: 3.11's wait_for can hold a cancelled
                # task until the timeout expires, which stalls a hub's shutdown.
                async with asyncio.timeout(remaining):
                    await self.connected.wait()
            except TimeoutError:
                raise TransportError(f"publish to {topic}: not connected to the broker") from None
            client = self._client
            if client is None:
                continue
            try:
                await client.publish(
                    topic, payload, qos=qos, retain=retain, timeout=max(remaining, 0.1)
                )
                reraise_lost_cancel()
                return
            except aiomqtt.MqttError as exc:
                log.debug("publish to %s failed (%s); retrying", topic, exc)
                await asyncio.sleep(0.05)
