"""The hub: one object, used as ``async with Hub(config) as hub``, owning a task group.

    device ─MQTT─▶ transport ─▶ ingest ─(codec)─▶ typed event ─┬─▶ bus ─▶ presence, rules, ...
                                   │                           └─▶ journal (+ outbox) ─▶ PUBACK
                                   └─▶ dead-letter
    hub.command() / alerts ─▶ transport ─MQTT─▶ devices, staff

Services other packages use: :attr:`bus`, :meth:`command`, :attr:`alerts`,
:attr:`registry`, :attr:`journal`, :attr:`metrics`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable, Coroutine
from types import TracebackType
from typing import Any, TypeVar

from pydantic import BaseModel

from hub import __version__, topics
from hub.alerts import Alerts
from hub.broker import ManagedBroker, TlsListener, free_port
from hub.bus import Bus
from hub.commands import Commands
from hub.config import HubConfig
from hub.context import DriverContext
from hub.db import connect_reader, db_path
from hub.events import Alert, CommandOutcome, DeviceEvent
from hub.ingest import Ingest
from hub.journal import Entry, Journal
from hub.metrics import Metrics
from hub.plugins import default_plugins
from hub.presence import watch_presence
from hub.provisioning import broker_users
from hub.registry import Device, Registry
from hub.secrets import load_secrets
from hub.transport import Endpoint, MqttTransport, WillMessage

log = logging.getLogger("storehub.hub")

#: Things that plug into a running hub (rules, store API, ...): called once the
#: hub is up, each returns a coroutine the hub runs in its task group.
Plugin = Callable[["Hub"], Coroutine[Any, Any, None]]
S = TypeVar("S")


class Hub:
    def __init__(
        self,
        config: HubConfig,
        *,
        plugins: list[Plugin] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.store_id = config.store_id
        self.clock = clock
        # None = the built-in plugins (rules, store API); [] = a bare hub.
        self.plugins = default_plugins() if plugins is None else list(plugins)
        self.metrics = Metrics()
        self.bus = Bus()
        self.db_path = db_path(config.data_dir)
        jc = config.store.journal
        self.journal = Journal(
            self.db_path, batch_max=jc.batch_max, queue_max=jc.queue_max, linger=jc.linger_s
        )
        self.registry = Registry(config.store.devices, self.journal, clock=clock)
        self.alerts = Alerts(
            self.journal,
            self.bus,
            self.metrics,
            self._publish_alert,
            clock=clock,
            config=config.store.alerts,
        )
        cc = config.store.commands
        self.commands = Commands(
            self.store_id,
            self.registry,
            self.journal,
            self.bus,
            self.metrics,
            self._publish_command,
            ttl=cc.ttl_s,
            retry=cc.retry_s,
            clock=clock,
        )
        self.broker: ManagedBroker | None = None
        self.transport: MqttTransport | None = None
        self.ingest: Ingest | None = None
        self.ready = asyncio.Event()
        self.started = 0.0
        self._tg: asyncio.TaskGroup | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._background: set[asyncio.Task[Any]] = set()
        self._drivers: dict[str, asyncio.Task[Any]] = {}
        self._services: dict[type, object] = {}
        self._stopping = False

    # -- life cycle ------------------------------------------------------------

    async def __aenter__(self) -> Hub:
        self.config.data_dir.mkdir(parents=True, exist_ok=True)
        await self.journal.open()
        self._tg = asyncio.TaskGroup()
        await self._tg.__aenter__()
        try:
            await self._start()
        except BaseException as exc:
            await self._stop(type(exc), exc, exc.__traceback__)
            raise
        return self

    async def _start(self) -> None:
        self._spawn(self.journal.run(), "journal")
        await self.registry.load()
        await self.alerts.load()
        self._spawn(self.alerts.run(), "alert-escalation")
        endpoint = await self._broker_endpoint()
        self.ingest = Ingest(
            self.store_id,
            self.registry,
            self.journal,
            self.bus,
            self.commands,
            self.metrics,
            self._ack,
            lambda: connect_reader(self.db_path),
            clock=self.clock,
        )
        self.ingest.preload()
        self.transport = MqttTransport(
            endpoint,
            client_id=f"storehub-{self.store_id}",
            subscriptions=[*topics.device_filters(self.store_id), *self.ingest.foreign_topics],
            will=WillMessage(topics.hub_state(self.store_id), b'{"online":false}'),
            on_connect=self._on_connect,
            keepalive=self.config.store.broker.keepalive,
        )
        presence = self.bus.subscribe("presence", accept=lambda e: e.type == "presence")
        delay = self.config.store.alerts.offline_delay_s
        self._spawn(watch_presence(presence, self.registry, self.alerts, delay=delay), "presence")
        self._spawn(self.transport.run(self.ingest.handle), "transport")
        self._spawn(self._housekeeping(), "housekeeping")
        for device in self.registry:
            self.start_driver(device)
        for plugin in self.plugins:
            name = f"{getattr(plugin, '__module__', '')}.{getattr(plugin, '__name__', 'plugin')}"
            self._spawn(self._run_plugin(plugin, name), name)
        self.started = self.clock()

    async def _broker_endpoint(self) -> Endpoint:
        url = self.config.broker_url
        if url is not None:
            return Endpoint(url.host, url.port, url.username, url.password, tls=url.tls)
        bc = self.config.store.broker
        creds = load_secrets(self.config.data_dir, [d.config for d in self.registry])
        hub = creds[""]
        users = broker_users(self.store_id, self.registry, creds)
        tls = None
        if bc.tls is not None:
            tls = TlsListener(
                port=bc.tls.port,
                certfile=bc.tls.certfile,
                keyfile=bc.tls.keyfile,
                cafile=bc.tls.cafile,
                host=bc.host,
            )
        port = bc.port or free_port()
        self.broker = ManagedBroker(
            data_dir=self.config.data_dir,
            port=port,
            users=users,
            host=bc.host,
            tls=tls,
            executable=bc.executable,
        )
        await self.broker.__aenter__()
        log.info("managed mosquitto on %s", self.broker.url)
        return Endpoint(bc.host, port, hub.username, hub.password)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        return await self._stop(exc_type, exc, tb)

    async def _stop(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        # A clean goodbye: a retained offline state replaces the retained birth.
        if self.transport is not None and self.transport.connected.is_set():
            with contextlib.suppress(Exception):
                await self.transport.publish(
                    topics.hub_state(self.store_id), b'{"online":false}', retain=True, timeout=2
                )
        # From here on, a job spawned by a plugin on its way out is cancelled at once:
        # it must not hold the shutdown (an alert publish would wait for a broker).
        self._stopping = True
        for task in [*self._background, *reversed(self._tasks)]:
            task.cancel()
        try:
            if self._tg is not None:
                await self._tg.__aexit__(exc_type, exc, tb)
        finally:
            self.journal.close()
            if self.broker is not None:
                await self.broker.__aexit__(None, None, None)
        return None

    async def _run_plugin(self, plugin: Plugin, name: str) -> None:
        """A failing capability must not take the store's core (ingest, journal,
        presence, the other plugins) down with it: log it and raise a staff alert."""
        try:
            await plugin(self)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("plugin %s failed; the hub runs on without it", name)
            await self.alerts.raise_(
                "plugin_failed",
                "critical",
                f"{name} stopped: {exc}",
                data={"plugin": name, "error": repr(exc)},
                key=f"plugin_failed:{name}",
            )

    def _spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        assert self._tg is not None
        task = self._tg.create_task(coro, name=name)
        self._tasks.append(task)
        return task

    def start_driver(self, device: Device) -> None:
        """Run ``device``'s driver in the hub's task group (at start, or when provisioned)."""
        ctx = DriverContext(
            device=device.id,
            store=self.store_id,
            emit=functools.partial(self.emit, device.id),
            log=logging.getLogger(f"storehub.device.{device.id}"),
        )
        self._drivers[device.id] = self._spawn(device.driver.run(ctx), f"driver:{device.id}")

    async def stop_driver(self, device_id: str) -> None:
        """Cancel a device's driver task (a provisioned device replaced or removed)."""
        task = self._drivers.pop(device_id, None)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            with contextlib.suppress(ValueError):
                self._tasks.remove(task)

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str = "") -> asyncio.Task[Any]:
        """Run a short-lived job (a rule's action, a publish) in the hub's task group;
        its failure is logged, not fatal."""

        async def guarded() -> Any:
            try:
                return await coro
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("background job %s failed", name or coro)
                return None

        assert self._tg is not None
        try:
            if self._stopping:
                raise RuntimeError("stopping")
            task = self._tg.create_task(guarded(), name=name or None)
        except RuntimeError:
            # The task group is shutting down (it refuses new tasks): a job spawned on the
            # way out is created outside it and cancelled before it runs.
            task = asyncio.get_running_loop().create_task(guarded(), name=name or None)
            task.add_done_callback(lambda _t: coro.close())
            task.cancel()
            return task
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        # A job cancelled before it started never awaited ``coro``: close it.
        task.add_done_callback(lambda _t: coro.close())
        return task

    def provide(self, service: object) -> None:
        """Make a plugin's service (gate logic, rule engine, ...) findable by its class."""
        self._services[type(service)] = service

    def service(self, cls: type[S]) -> S | None:
        """The service of class ``cls`` a plugin provided, if it runs in this hub."""
        found = self._services.get(cls)
        return found if isinstance(found, cls) else None

    async def wait_ready(self, timeout: float = 30.0) -> None:
        async with asyncio.timeout(timeout):
            await self.ready.wait()

    async def _on_connect(self) -> None:
        assert self.transport is not None
        if self.transport.reconnects:
            self.metrics.mqtt_reconnects.inc()
        birth = {"online": True, "version": __version__, "ts": self.clock()}
        # Publish in the background: the message loop must keep running meanwhile.
        self.spawn(self._birth(json.dumps(birth).encode()), "birth")

    async def _birth(self, payload: bytes) -> None:
        assert self.transport is not None
        await self.transport.publish(topics.hub_state(self.store_id), payload, retain=True)
        self.ready.set()
        log.info("hub %s ready", self.store_id)

    async def _housekeeping(self) -> None:
        retention = self.config.store.journal.retention_days * 86400
        last_purge = 0.0
        while True:
            await asyncio.sleep(1.0)
            await self.registry.flush_seen()
            self.metrics.queue_depth.labels("journal").set(self.journal.depth)
            for sub in self.bus.subscriptions:
                self.metrics.queue_depth.labels(f"bus:{sub.name}").set(sub.depth)
            if self.broker is not None:
                self.metrics.broker_restarts.set(self.broker.restarts)
            now = self.clock()
            if now - last_purge > 3600:
                last_purge = now
                await self.journal.call(functools.partial(_purge, now - retention))

    # -- services --------------------------------------------------------------

    def _ack(self, message: Any) -> None:
        if self.transport is not None:
            self.transport.ack(message)

    async def _publish_command(self, topic: str, payload: bytes, timeout: float) -> None:
        assert self.transport is not None
        await self.transport.publish(topic, payload, timeout=timeout)

    def _publish_alert(self, alert: Alert) -> None:
        payload = json.dumps(alert.wire(), separators=(",", ":")).encode()
        if self.transport is None:
            return
        self.spawn(
            self.transport.publish(topics.alert(self.store_id), payload, timeout=60), "alert"
        )

    async def command(
        self, device: str, name: str, *, ttl: float | None = None, **args: Any
    ) -> CommandOutcome:
        """Send a command and wait for its outcome (see :mod:`hub.commands`)."""
        return await self.commands.send(device, name, ttl=ttl, **args)

    async def emit(self, device_id: str, name: str, payload: BaseModel) -> None:
        """Put an event that did not come over MQTT (a driver's own) on the bus and journal."""
        device = self.registry.get(device_id)
        if device is None:
            raise LookupError(device_id)
        now = self.clock()
        ts = float(getattr(payload, "ts", now))
        event = DeviceEvent(
            device=device.id,
            kind=device.kind,
            zone=device.zone,
            name=name,
            seq=None,
            ts=ts,
            received=now,
            payload=payload,
        )
        await self.bus.publish(event)
        await self.journal.append(
            Entry(
                type="event",
                ts=ts,
                received=now,
                device=device.id,
                name=name,
                data=payload.model_dump_json(),
            )
        )

    def status(self) -> dict[str, Any]:
        t = self.transport
        return {
            "store": self.store_id,
            "version": __version__,
            "ready": self.ready.is_set(),
            "uptime": self.clock() - self.started if self.started else 0.0,
            "broker": self.broker.url if self.broker else str(self.config.broker_url),
            "managed_broker": self.broker is not None,
            "mqtt_connected": bool(t and t.connected.is_set()),
            "mqtt_reconnects": t.reconnects if t else 0,
            "journal_depth": self.journal.depth,
            "devices": len(self.registry),
            "devices_online": sum(1 for d in self.registry if d.online),
        }


def _purge(cutoff: float, conn: sqlite3.Connection) -> None:
    conn.execute("DELETE FROM journal WHERE received < ?", (cutoff,))


async def run_forever(hub: Hub, *extra: Awaitable[Any]) -> None:
    """Keep a started hub running until cancelled (Ctrl-C, SIGTERM)."""
    await asyncio.gather(asyncio.Event().wait(), *extra)
