"""Cloud sync as one service: uploader + disk budget + inbox + housekeeping, and the
hub plugin that runs it (``hub.sync:plugin``).  With sync disabled the plugin still
runs the disk budget: the journal keeps writing outbox rows, and they must not grow
without bound while nothing uploads them."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry

from hub.config import SyncConfig
from hub.db import connect_reader
from hub.errors import ConfigError
from hub.journal import Journal
from hub.sync import store
from hub.sync.adapter import CloudAdapter
from hub.sync.alerting import AlertSink
from hub.sync.budget import DiskBudget
from hub.sync.follow import follow
from hub.sync.http import HttpCloudAdapter
from hub.sync.inbox import Inbox
from hub.sync.metrics import SyncMetrics
from hub.sync.mqtt_bridge import MqttBridgeAdapter, Publish
from hub.sync.outbox import OutboxUploader
from hub.sync.status import SyncStatus, read_status

if TYPE_CHECKING:
    from hub.hub import Hub

log = logging.getLogger("storehub.sync")

#: How often sent rows past ``keep_sent_s`` are purged.
PURGE_EVERY_S = 60.0
#: How long the log of applied inbox changes is kept.
INBOX_LOG_S = 30 * 86_400.0


async def supervise(name: str, loop: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run a sync loop; one that fails is logged and restarted after 5 s (a bug or a full
    disk in one loop must not take the hub down with it)."""
    while True:
        try:
            await loop()
            return
        except Exception:
            log.exception("sync %s loop failed; restarting in 5 s", name)
            await asyncio.sleep(5.0)


class Sync:
    def __init__(
        self,
        *,
        store_id: str,
        journal: Journal,
        db_path: Path,
        config: SyncConfig,
        uploads: CloudAdapter,
        pulls: CloudAdapter | None,
        alerts: AlertSink,
        registry: CollectorRegistry | None = None,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.journal = journal
        self.db_path = db_path
        self.clock = clock
        self.metrics = SyncMetrics(registry)
        self._adapters = [uploads] if pulls is None or pulls is uploads else [uploads, pulls]
        self.outbox = OutboxUploader(
            store_id=store_id,
            journal=journal,
            db_path=db_path,
            adapter=uploads,
            config=config,
            alerts=alerts,
            metrics=self.metrics,
            clock=clock,
            rng=rng,
        )
        self.budget = DiskBudget(
            journal=journal,
            db_path=db_path,
            config=config,
            alerts=alerts,
            metrics=self.metrics,
            clock=clock,
            inflight=lambda: self.outbox.inflight,
        )
        self.inbox: Inbox | None = None
        if pulls is not None and config.pull:
            self.inbox = Inbox(
                journal=journal,
                adapter=pulls,
                config=config,
                alerts=alerts,
                metrics=self.metrics,
                clock=clock,
            )

    async def __aenter__(self) -> Sync:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.outbox.aclose()
        for adapter in self._adapters:
            await adapter.aclose()

    async def run(self) -> None:
        """Everything, until cancelled; a loop that fails is logged and restarted."""
        async with asyncio.TaskGroup() as tg:
            tg.create_task(supervise("outbox", self.outbox.run))
            tg.create_task(supervise("budget", self.budget.run))
            tg.create_task(supervise("housekeeping", self._housekeeping))
            if self.inbox is not None:
                tg.create_task(supervise("inbox", self.inbox.run))

    async def _housekeeping(self) -> None:
        while True:
            await self.purge()
            await asyncio.sleep(PURGE_EVERY_S)

    async def purge(self) -> int:
        """Delete rows acknowledged more than ``keep_sent_s`` ago and the old inbox log."""
        now = self.clock()
        before, log_before = now - self.config.keep_sent_s, now - INBOX_LOG_S

        def op(conn: Any) -> int:
            conn.execute("DELETE FROM sync_inbox WHERE applied < ?", (log_before,))
            return store.purge_sent(conn, before)

        return int(await self.journal.call(op))

    def push_now(self) -> None:
        self.outbox.push_now()

    async def drain(self) -> int:
        return await self.outbox.drain()

    def status(self) -> SyncStatus:
        conn = connect_reader(self.db_path)
        try:
            return read_status(conn, budget_bytes=self.config.budget_bytes, now=self.clock())
        finally:
            conn.close()


def read_token(config: SyncConfig) -> str:
    """The store's bearer credential: ``token_file``, else the ``token_env`` variable."""
    if config.token_file is not None:
        try:
            return config.token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"sync.token_file: cannot read {config.token_file}: {exc}") from None
    token = os.environ.get(config.token_env, "").strip()
    if not token:
        raise ConfigError(f"sync: no credential (set sync.token_file or ${config.token_env})")
    return token


def build_adapters(
    config: SyncConfig, store_id: str, publish: Publish | None = None
) -> tuple[CloudAdapter, CloudAdapter | None]:
    """(uploads, pulls) for the configured mode."""
    https = None
    if config.url:
        https = HttpCloudAdapter(config.url, store_id, read_token(config), timeout=config.timeout_s)
    if config.mode == "mqtt":
        if publish is None:
            raise ConfigError("sync.mode = 'mqtt' needs the hub's MQTT transport")
        topic = config.mqtt_topic.format(store=store_id)
        return MqttBridgeAdapter(publish, topic, inbox=https), https
    assert https is not None  # SyncConfig requires url in https mode
    return https, https


async def plugin(hub: Hub) -> None:
    """Run cloud sync in a hub (``[sync] enabled = true`` in the store file)."""
    config = hub.config.store.sync
    if not config.enabled:
        await budget_only(hub, config)
        return
    transport = hub.transport

    async def publish(topic: str, payload: bytes) -> None:
        assert transport is not None
        await transport.publish(topic, payload, timeout=config.timeout_s)

    try:
        uploads, pulls = build_adapters(
            config, hub.store_id, publish if transport is not None else None
        )
    except ConfigError as exc:
        # The store keeps selling without its cloud link; it must not stop over it.
        log.error("cloud sync is off: %s", exc)
        await hub.alerts.raise_(
            "sync_config", "critical", f"cloud sync is off: {exc}", key="sync_config"
        )
        return
    sync = Sync(
        store_id=hub.store_id,
        journal=hub.journal,
        db_path=hub.db_path,
        config=config,
        uploads=uploads,
        pulls=pulls,
        alerts=hub.alerts,
        registry=hub.metrics.registry,
        clock=hub.clock,
    )
    if sync.inbox is not None:
        follow(hub, sync.inbox)
    hub.provide(sync)
    async with sync:
        await sync.run()


async def budget_only(hub: Hub, config: SyncConfig) -> None:
    """Sync is off, yet every journaled sale, alert, ... still gets its outbox row (kept
    for the day sync is enabled): hold them to the disk budget all the same — warn at
    ``warn_ratio``, drop the oldest droppable rows at 100 %, never sales."""
    budget = DiskBudget(
        journal=hub.journal,
        db_path=hub.db_path,
        config=config,
        alerts=hub.alerts,
        metrics=SyncMetrics(hub.metrics.registry),
        clock=hub.clock,
    )
    hub.provide(budget)
    await supervise("budget", budget.run)
