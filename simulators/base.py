"""One simulated device on MQTT, speaking the wire contract (``/work/shared/CONTRACT.md``).

    async with DoorSimulator(config, "s1", endpoint) as door:   # birth, will, commands
        await door.passage("in")                                # event/passage, QoS 1

Event payloads are built *and validated* with the kind's codec
(``devices/<kind>/codec.py``), and incoming commands are checked against the
same codec's command models, so a simulator cannot say anything the hub would
not accept, nor accept anything the hub would not send. Errors: ``simulators.errors``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import socket
import ssl
import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, ClassVar, Generic, Self, TypeVar

import aiomqtt
from pydantic import ValidationError

from devices import drivers
from devices.base import MAX_PAYLOAD, Codec, CommandArgs, DeviceConfig, first_error
from hub import __version__
from hub.errors import PayloadError
from hub.transport import reraise_lost_cancel
from simulators.commands import Envelope, ReceivedCommand, command_args, salvage_id
from simulators.endpoint import SimEndpoint, endpoint_for
from simulators.errors import CommandRejected, SimulatorError
from simulators.garbage import GARBAGE_KINDS, GarbageKind, garbage_message

__all__ = [
    "GARBAGE_KINDS",
    "CommandRejected",
    "DeviceSimulator",
    "GarbageKind",
    "ReceivedCommand",
    "SimEndpoint",
    "SimulatorError",
    "codec_for",
    "endpoint_for",
]

log = logging.getLogger("storehub.simulators")

#: The will, and what a clean goodbye publishes (retained) on ``.../state``.
OFFLINE = b'{"online":false}'
#: How many sent events :meth:`DeviceSimulator.resend` can still find.
RESEND_WINDOW = 10_000
#: How many command ids are remembered to spot repeats.
SEEN_IDS = 10_000


def codec_for(kind: str) -> Codec | None:
    """The codec of a kind's driver (built-in or plugin), or None for an unknown kind."""
    driver = drivers().get(kind)
    return driver.codec if driver is not None else None


C = TypeVar("C", bound=DeviceConfig)


class DeviceSimulator(Generic[C]):
    """A device of any kind: presence, events of its codec, commands, misbehaviour.

    Per-kind subclasses add what the device *does* (:meth:`on_command`) and
    helpers named after it (``passage``, ``walk``, ``scan``, ...).

    Attributes tests use: :attr:`commands_received`, :attr:`replies`,
    :attr:`events_sent`, and the knobs :attr:`reply_delay` (seconds before each
    reply) and :attr:`ignore_commands` (receive but neither act nor reply).
    """

    #: The kind a subclass simulates (None: the generic simulator, any kind).
    kind: ClassVar[str | None] = None
    #: The config model a subclass needs (it reads kind-specific fields).
    config_model: ClassVar[type[DeviceConfig]] = DeviceConfig
    #: ``model`` of the birth message.
    model: ClassVar[str] = "storehub-sim"
    #: ``fw`` of the birth message.
    fw: ClassVar[str] = f"sim-{__version__}"

    def __init__(
        self,
        config: C,
        store: str,
        endpoint: SimEndpoint,
        *,
        seed: int | None = None,
        clock: Callable[[], float] = time.time,
        keepalive: int = 10,
    ) -> None:
        if not isinstance(config, self.config_model):
            raise TypeError(
                f"{type(self).__name__} needs a {self.config_model.__name__}, "
                f"got {type(config).__name__}"
            )
        self.config = config
        self.store = store
        self.endpoint = endpoint
        self.clock = clock
        self.keepalive = keepalive
        #: All randomness of this simulator (noise, ...): seeded, so runs repeat.
        self.rng = random.Random(seed)
        self.codec = codec_for(config.kind)
        self.base = f"store/{store}/device/{config.id}"
        self.reply_delay = 0.0
        self.ignore_commands = False
        self.commands_received: list[ReceivedCommand] = []
        self.replies: list[dict[str, Any]] = []
        #: Command messages without a usable id (nothing could be replied to them).
        self.bad_commands = 0
        self.events_sent = 0
        self.last_seq: int | None = None
        # Milliseconds since the epoch: grows across restarts of the simulator too.
        self._seq = int(clock() * 1000)
        self._sent: OrderedDict[int, tuple[str, bytes]] = OrderedDict()
        self._seen_ids: OrderedDict[str, None] = OrderedDict()
        self._client: aiomqtt.Client | None = None
        self._serve_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- identity --------------------------------------------------------------

    @property
    def device_id(self) -> str:
        return self.config.id

    @property
    def state_topic(self) -> str:
        return f"{self.base}/state"

    @property
    def connected(self) -> bool:
        """Connected and serving commands (False after :meth:`drop`, or a lost connection)."""
        task = self._serve_task
        return self._client is not None and task is not None and not task.done()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.device_id} connected={self.connected}>"

    # -- life cycle ------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _make_client(self) -> aiomqtt.Client:
        ep = self.endpoint
        tls = ssl.create_default_context(cafile=ep.ca_file) if ep.tls else None
        return aiomqtt.Client(
            ep.host,
            ep.port,
            username=ep.username,
            password=ep.password,
            identifier=self.device_id,
            will=aiomqtt.Will(self.state_topic, OFFLINE, qos=1, retain=True),
            keepalive=self.keepalive,
            tls_context=tls,
            timeout=10,
        )

    async def connect(self, *, retry_for: float = 0.0) -> None:
        """Connect, subscribe to ``command/#`` (and :meth:`subscriptions`), publish the
        retained birth.

        Retries for up to ``retry_for`` seconds while the broker cannot be reached.
        Does nothing when already connected.
        """
        if self.connected:
            return
        await self._teardown()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + retry_for
        delay = 0.1
        while True:
            client = self._make_client()
            try:
                await client.__aenter__()
                break
            except aiomqtt.MqttError as exc:
                if loop.time() + delay > deadline:
                    ep = self.endpoint
                    raise SimulatorError(
                        f"{self.device_id}: cannot connect to {ep.host}:{ep.port}: {exc}"
                    ) from None
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
        self._client = client
        try:
            await client.subscribe(f"{self.base}/command/#", qos=1)
            for topic_filter in self.subscriptions():
                await client.subscribe(topic_filter, qos=1)
            self._serve_task = asyncio.create_task(
                self._serve(client), name=f"simulator:{self.device_id}"
            )
            await self._publish(self.state_topic, self.birth(), retain=True)
        except (aiomqtt.MqttError, SimulatorError) as exc:
            await self._teardown()
            raise SimulatorError(
                f"{self.device_id}: connected but could not start: {exc}"
            ) from None
        log.debug("%s connected", self.device_id)

    async def reconnect(self, *, retry_for: float = 5.0) -> None:
        """Come back after :meth:`drop` / :meth:`clean_offline` (a new birth)."""
        await self.connect(retry_for=retry_for)

    async def close(self) -> None:
        """Say goodbye: retained ``{"online": false}``, then a clean disconnect."""
        if self.connected:
            with contextlib.suppress(SimulatorError):
                await self._publish(self.state_topic, OFFLINE, retain=True, timeout=2)
        await self._teardown()

    def birth(self) -> bytes:
        body = {
            "online": True,
            "kind": self.config.kind,
            "model": self.model,
            "fw": self.fw,
            "ts": self.clock(),
        }
        return json.dumps(body, separators=(",", ":")).encode()

    async def _teardown(self) -> None:
        """Stop serving and disconnect (cleanly where the connection still allows it)."""
        client, self._client = self._client, None
        serve, self._serve_task = self._serve_task, None
        tasks, self._tasks = self._tasks, set()
        for task in (serve, *tasks):
            if task is not None:
                task.cancel()
        pending = [t for t in (serve, *tasks) if t is not None]
        if pending:
            await asyncio.wait(pending)
        if client is not None:
            # Returns at once when the connection is gone already (after drop()).
            with contextlib.suppress(aiomqtt.MqttError):
                await client.__aexit__(None, None, None)

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str = "") -> asyncio.Task[Any]:
        """Run device behaviour in the background (a door closing later, ...).

        Cancelled by a disconnect; a failure is logged, never raised."""

        async def guarded() -> None:
            try:
                await coro
            except SimulatorError as exc:
                log.info("%s: %s: %s", self.device_id, name or "task", exc)
            except Exception:
                log.exception("%s: %s failed", self.device_id, name or "task")

        task = asyncio.create_task(guarded(), name=f"simulator:{self.device_id}:{name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- events ----------------------------------------------------------------

    def encode_event(self, name: str, body: dict[str, Any]) -> bytes:
        """Validate an event body with the kind's codec and return the wire bytes: the
        fields given, as the codec reads them (optional fields not given stay out).

        :class:`SimulatorError` when the hub would reject it."""
        data = json.dumps(body, separators=(",", ":")).encode()
        if self.codec is None:
            return data
        try:
            payload = self.codec.decode_event(name, data)
        except PayloadError as exc:
            raise SimulatorError(f"{self.device_id}: event {name!r} is not valid: {exc}") from None
        return payload.model_dump_json(exclude_unset=True).encode()

    def next_seq(self) -> int:
        """The sequence number the next event will carry."""
        return self._seq

    async def event(self, name: str, **fields: Any) -> int:
        """Publish ``event/{name}`` (QoS 1) with ``ts`` (unless given) and the next ``seq``.

        Returns the ``seq``; :class:`SimulatorError` if the codec rejects the fields
        or the simulator is not connected."""
        seq = self._seq
        body = {"ts": self.clock(), **fields, "seq": seq}
        payload = self.encode_event(name, body)
        self._seq += 1
        topic = f"{self.base}/event/{name}"
        await self._publish(topic, payload)
        self._sent[seq] = (topic, payload)
        if len(self._sent) > RESEND_WINDOW:
            self._sent.popitem(last=False)
        self.events_sent += 1
        self.last_seq = seq
        return seq

    async def resend(self, seq: int | None = None) -> None:
        """Publish an already-sent event again, byte for byte (a QoS 1 redelivery).

        ``None`` = the last event sent."""
        seq = self.last_seq if seq is None else seq
        sent = self._sent.get(seq) if seq is not None else None
        if sent is None:
            raise SimulatorError(f"{self.device_id}: no sent event with seq {seq}")
        await self._publish(*sent)

    # -- misbehaviour ----------------------------------------------------------

    async def drop(self) -> None:
        """Vanish without a DISCONNECT (power cut, cable pulled): the broker publishes
        the will ``{"online": false}``."""
        client = self._client
        if client is None:
            return
        sock = client._client.socket()
        if isinstance(sock, socket.socket):  # ssl.SSLSocket is one too
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        # Let the client notice by itself, so that it does not try a DISCONNECT.
        if self._serve_task is not None:
            await asyncio.wait({self._serve_task}, timeout=2.0)
        await self._teardown()

    async def clean_offline(self) -> None:
        """Publish the retained ``{"online": false}`` and disconnect cleanly (no will)."""
        await self._publish(self.state_topic, OFFLINE, retain=True)
        await self._teardown()

    async def publish_raw(
        self, topic: str, payload: bytes, *, retain: bool = False, absolute: bool | None = None
    ) -> str:
        """Publish bytes as they are, QoS 1; returns the topic used.

        ``topic`` is taken relative to the device (``"event/passage"``) unless it
        starts with ``store/`` or ``absolute`` is True (a reader's own data topic)."""
        full = topic.startswith("store/") if absolute is None else absolute
        topic = topic if full else f"{self.base}/{topic}"
        await self._publish(topic, payload, retain=retain)
        return topic

    def sample_fields(self, event: str) -> dict[str, Any]:
        """Fields (beyond ts/seq) of a valid ``event``; used to build the garbage."""
        return {}

    async def garbage(
        self, kind: GarbageKind, *, event: str | None = None, other_device: str = "impostor"
    ) -> str:
        """Publish one message the hub must reject (dead-letter); returns its topic.

        ``not_json``, ``array`` (a JSON array), ``missing_field`` (no ``seq``),
        ``wrong_type`` (``ts`` a string), ``oversized`` (over the topic's limit:
        64 KiB, 1 MiB on image topics), ``unknown_event`` (an event the kind does
        not have), ``foreign_topic`` (a valid-looking event on ``other_device``'s
        topic). ``event`` picks the event topic (default: the kind's first event).
        Sequence numbers are not used up."""
        name = event or next(iter(self.codec.events if self.codec else ()), "ping")
        valid = {"ts": self.clock(), "seq": self._seq, **self.sample_fields(name)}
        topic, payload = garbage_message(
            kind,
            name=name,
            valid=valid,
            limit=self.codec.max_size(name) if self.codec else MAX_PAYLOAD,
            other_topic=f"store/{self.store}/device/{other_device}/event/{name}",
        )
        return await self.publish_raw(topic, payload)

    async def random_action(self, rng: random.Random) -> None:
        """Do one plausible thing, for the ``random`` scenario (about ``rate`` a second).

        The generic device does nothing (it only shows presence); kinds override this."""
        return None

    # -- other topics ----------------------------------------------------------

    def subscriptions(self) -> tuple[str, ...]:
        """Topic filters the device listens to besides its ``command/#`` (the hub's state,
        ...); their messages go to :meth:`on_message`. The generic device has none."""
        return ()

    async def on_message(self, topic: str, payload: bytes) -> None:
        """A message on one of :meth:`subscriptions`, handled in order with the commands."""
        return None

    # -- commands --------------------------------------------------------------

    async def on_command(self, name: str, args: CommandArgs) -> dict[str, Any] | None:
        """Do what a command says. Returns extra reply fields; raise
        :class:`CommandRejected` to reply ``ok: false``. The generic device accepts all."""
        return None

    async def _serve(self, client: aiomqtt.Client) -> None:
        # Commands are handled one at a time, in order, like a device's firmware would.
        try:
            async for message in client.messages:
                payload = message.payload
                if not isinstance(payload, bytes | bytearray):
                    payload = str(payload).encode() if payload is not None else b""
                topic = message.topic.value
                try:
                    if topic.startswith(f"{self.base}/command/"):
                        await self._on_command_message(topic, bytes(payload))
                    else:
                        await self.on_message(topic, bytes(payload))
                except SimulatorError as exc:
                    log.info("%s: %s", self.device_id, exc)
        except aiomqtt.MqttError as exc:
            log.debug("%s: connection gone: %s", self.device_id, exc)

    async def _on_command_message(self, topic: str, payload: bytes) -> None:
        name = topic.rsplit("/", 1)[-1]
        try:
            envelope = Envelope.model_validate_json(payload)
        except ValidationError as exc:
            cmd_id = salvage_id(payload)
            if cmd_id is None:
                self.bad_commands += 1
                log.info(
                    "%s: command %s without a usable id: %s", self.device_id, name, first_error(exc)
                )
                return
            await self._reply(cmd_id, False, f"invalid: {first_error(exc)}")
            return
        args = dict(envelope.model_extra or {})
        self.commands_received.append(ReceivedCommand(name, args, envelope.id))
        if self.ignore_commands:
            return
        if envelope.id in self._seen_ids:
            await self._reply(envelope.id, False, "duplicate")
            return
        self._seen_ids[envelope.id] = None
        if len(self._seen_ids) > SEEN_IDS:
            self._seen_ids.popitem(last=False)
        if envelope.expires < self.clock():
            await self._reply(envelope.id, False, "expired")
            return
        ok, error, extra = True, None, {}
        try:
            extra = await self.on_command(name, command_args(self.codec, name, args)) or {}
        except CommandRejected as exc:
            ok, error = False, exc.reason
        except SimulatorError:
            raise
        except Exception as exc:
            log.exception("%s: command %s failed", self.device_id, name)
            ok, error = False, f"internal: {exc}"
        await self._reply(envelope.id, ok, error, extra)

    async def _reply(
        self, cmd_id: str, ok: bool, error: str | None, extra: dict[str, Any] | None = None
    ) -> None:
        if self.reply_delay > 0:
            await asyncio.sleep(self.reply_delay)
        body = {**(extra or {}), "id": cmd_id, "ok": ok, "error": error}
        self.replies.append(body)
        await self._publish(f"{self.base}/reply", json.dumps(body, separators=(",", ":")).encode())

    # -- wire ------------------------------------------------------------------

    async def _publish(
        self, topic: str, payload: bytes, *, retain: bool = False, timeout: float = 10.0
    ) -> None:
        client = self._client
        if client is None or not self.connected:
            raise SimulatorError(f"{self.device_id} is not connected")
        try:
            await client.publish(topic, payload, qos=1, retain=retain, timeout=timeout)
        except aiomqtt.MqttError as exc:
            raise SimulatorError(f"{self.device_id}: publish to {topic} failed: {exc}") from None
        reraise_lost_cancel()
