"""The shelf-label service: HQ batches → shelf prices → rendered labels → APs → labels.

    HQ push ─▶ PriceBook (+ SQLite) ─▶ refresh(items) ─▶ content key unchanged? ─yes─▶ skipped
                   ▲                         │ no
    scheduler ─────┘ (effective times,       ▼
                      promo start/end)   RenderPool (processes) ─▶ Transport (per-AP queues)
                                                                     │ update ▲ results/checkin
                                                                     ▼        │
                                                                   esl_ap devices (MQTT)

Runs as the hub plugin ``hub.esl.service:plugin`` and is found by others with
``hub.service(EslService)`` (the store API's ESL routes, the CLI through them).
Label health (check-ins, alerts, price audit) is :mod:`hub.esl.health`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from devices.esl_ap.codec import Colors, encode_image
from devices.esl_ap.config import EslApConfig
from hub.catalog import Catalog, GtinError, normalise_gtin, shared_catalog
from hub.esl.batches import (
    BadBatch,
    BatchProgress,
    IdempotencyConflict,
    PriceBatchIn,
    State,
    batch_rows,
    load_batches,
    write_batch,
    write_progress,
)
from hub.esl.content import PANELS, LabelContent, PanelKey, Rendered, RenderJob, Template
from hub.esl.health import Health
from hub.esl.labels import Binding, BindingEvent, Label, Labels, write_binding
from hub.esl.pool import RenderPool
from hub.esl.prices import PriceBook, write_rows, write_units
from hub.esl.published import follow_catalog
from hub.esl.settings import EslSettings, load_settings
from hub.esl.shelf import label_content
from hub.esl.transport import Delivery, RetryPolicy, Stage, Transport
from hub.events import CommandOutcome

if TYPE_CHECKING:
    from hub.hub import Hub

log = logging.getLogger("storehub.esl")


class EslService:
    def __init__(
        self, hub: Hub, settings: EslSettings | None = None, *, catalog: Catalog | None = None
    ) -> None:
        self.hub = hub
        self.settings = settings or load_settings()
        self.clock = hub.clock
        self.catalog = catalog or shared_catalog(hub)
        self._own_catalog = catalog is None
        self.prices = PriceBook()
        self.labels = Labels()
        self.units: dict[str, tuple[float, str, str]] = {}
        self.batches: dict[str, BatchProgress] = {}
        self._by_key: dict[str, BatchProgress] = {}
        #: Batches waiting for each label's next delivery outcome.
        self._waiting: dict[str, set[str]] = {}
        #: The regular price drawn in each label's image on its way (for the price audit).
        self._shown_price: dict[str, tuple[int, str]] = {}
        self.pool = RenderPool(self.settings.render_workers)
        s = self.settings
        self.transport = Transport(
            self._send,
            self._on_outcome,
            clock=self.clock,
            retry=RetryPolicy(s.retry_base_s, s.retry_cap_s, s.max_attempts),
        )
        self.health = Health(self)
        self._last_tick = 0.0
        self._jobs: set[asyncio.Task[Any]] = set()
        self.skipped = 0
        self.ready = asyncio.Event()

    # -- life cycle ------------------------------------------------------------------

    async def start(self) -> None:
        if self._own_catalog:
            await self.catalog.load()

        def read(conn: sqlite3.Connection) -> list[BatchProgress]:
            self.prices.load(conn)
            self.labels.load(conn)
            for gtin, qty, unit, basis in conn.execute(
                "SELECT gtin, content_qty, content_unit, basis FROM esl_units"
            ):
                self.units[gtin] = (qty, unit, basis)
            return load_batches(conn)

        for b in await self.hub.journal.call(read):
            self.batches[b.id] = b
            self._by_key[b.key] = b
        for device in self.hub.registry:
            if isinstance(device.config, EslApConfig):
                c = device.config
                self.transport.add_ap(
                    c.id,
                    capacity=c.capacity,
                    batch_max=c.batch_max,
                    result_timeout_s=c.result_timeout_s,
                )
        await self.pool.start()
        self._last_tick = self.clock()

    async def run(self) -> None:
        await self.start()
        events = self.hub.bus.subscribe(
            "esl",
            maxsize=50_000,
            accept=lambda e: e.type == "device_event" and getattr(e, "kind", "") == "esl_ap",
        )
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self.transport.run(), name="esl:transport")
                tg.create_task(self.health.run(events), name="esl:health")
                tg.create_task(self._ticker(), name="esl:scheduler")
                tg.create_task(self._flusher(), name="esl:flush")
                # Anything that changed while the hub was down (a price that took
                # effect, a new template version) reaches the labels now.
                self.spawn(self.refresh_all(), "esl:reconcile")
                self.ready.set()
        finally:
            events.close()
            self.pool.close()
            # The journal may be stopping too (the hub cancels everything at once):
            # write what we can, never wait on a writer that is gone.
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2.0):
                    await self.flush()

    def spawn(self, coro: Any, name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._jobs.add(task)
        task.add_done_callback(self._finished_job)

    def _finished_job(self, task: asyncio.Task[Any]) -> None:
        self._jobs.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("ESL job %s failed", task.get_name(), exc_info=task.exception())

    async def idle(self) -> None:
        """Wait until the background refreshes started so far are done (tests, bench)."""
        while self._jobs:
            await asyncio.gather(*list(self._jobs), return_exceptions=True)

    # -- HQ batches --------------------------------------------------------------------

    async def push(
        self, batch: PriceBatchIn, *, key: str | None = None, by: str | None = None
    ) -> dict[str, Any]:
        """Store a batch of price changes; labels follow in the background.

        Returns the batch's progress. :class:`IdempotencyConflict`, :class:`BadBatch`."""
        key = key or batch.idempotency_key or uuid.uuid4().hex
        body_hash = batch.body_hash()
        known = self._by_key.get(key)
        if known is not None:
            if known.body_hash != body_hash:
                raise IdempotencyConflict(f"idempotency key {key!r} was used for another batch")
            return known.summary()
        now = self.clock()
        effective = batch.effective if batch.effective is not None else now
        progress = BatchProgress(uuid.uuid4().hex[:16], key, body_hash, now, effective)
        prices, promos, units = batch_rows(batch, progress.id, effective, self._currency)
        self._by_key[key] = self.batches[progress.id] = progress

        def write(conn: sqlite3.Connection) -> None:
            write_batch(conn, progress, by, len(prices), len(promos))
            write_rows(conn, prices, promos, now)
            write_units(conn, units, now)

        try:
            await self.hub.journal.call(write)
        except sqlite3.IntegrityError:
            self._by_key.pop(key, None)
            self.batches.pop(progress.id, None)
            raise IdempotencyConflict(f"idempotency key {key!r} is being used") from None
        for p in prices:
            self.prices.add_price(p, now=now)
        for q in promos:
            self.prices.add_promotion(q, now=now)
        self.units.update(units)
        now_items = {r.gtin for r in prices if r.effective <= now}
        now_items |= {r.gtin for r in promos if r.start <= now < r.end}
        later = {r.gtin for r in prices if r.effective > now} | {
            r.gtin for r in promos if r.start > now or r.end > now
        }
        # Every label the batch touches is counted now, so its total is known at once.
        for gtin in now_items | set(units):
            for label in self.labels.for_gtin(gtin):
                progress.set(label.id, "queued", now=now)
        for gtin in later - now_items:
            for label in self.labels.for_gtin(gtin):
                progress.set(label.id, "scheduled", now=now)
        if now_items or units:
            self.spawn(self.refresh(now_items | set(units), {progress.id}), f"esl:{progress.id}")
        log.info(
            "ESL batch %s (%s): %d prices, %d promotions",
            progress.id,
            key,
            len(prices),
            len(promos),
        )
        return progress.summary()

    def _currency(self, gtin: str) -> str:
        item = self.catalog.get(gtin)
        found = self.prices.price(gtin, self.settings.store_group, None, self.clock())
        return found.currency if found else (item.currency if item else "CNY")

    def progress(self, batch_id: str) -> dict[str, Any] | None:
        b = self.batches.get(batch_id) or self._by_key.get(batch_id)
        return b.summary() if b is not None else None

    # -- labels: content, rendering, delivery -------------------------------------------

    def content(self, label: Label, at: float) -> LabelContent | str:
        """What ``label`` should show at ``at``, or why it cannot show anything."""
        return label_content(
            label, self.prices, self.catalog, self.units, self.settings.store_group, at
        )

    def job(self, label: Label, at: float) -> RenderJob | str:
        content = self.content(label, at)
        if isinstance(content, str):
            return content
        if label.panel not in PANELS:
            return f"unknown panel {label.panel!r}"
        panel: PanelKey = label.panel
        colors: Colors = "bwr" if label.colors == "bwr" else "bw"
        template: Template = "qr" if label.template == "qr" else "standard"
        return RenderJob(content, panel, colors, template)

    async def refresh_all(self) -> None:
        await self.refresh({label.gtin for label in self.labels if label.gtin}, set())

    async def refresh(
        self,
        gtins: Iterable[str],
        batches: set[str],
        *,
        labels: Iterable[Label] | None = None,
        force: bool = False,
    ) -> None:
        """Bring the labels of ``gtins`` (or ``labels``) up to date; progress to ``batches``."""
        now = self.clock()
        todo: list[tuple[Label, RenderJob, str]] = []
        targets = (
            list(labels)
            if labels is not None
            else [label for g in gtins for label in self.labels.for_gtin(g)]
        )
        for label in targets:
            job = self.job(label, now)
            if isinstance(job, str):
                if label.gtin is not None:
                    self._mark(batches, label.id, "failed", job)
                continue
            key = self.pool.key(job)
            # What the label itself last said it shows (None = blank) must match too.
            shows = label.confirmed_hash is not None and label.shown_hash == label.confirmed_hash
            if not force and key == label.confirmed_key and shows:
                self.skipped += 1
                self._mark(batches, label.id, "skipped")
                continue
            if not force and key == label.desired_key and self.transport.queued_for(label.id):
                self._waiting.setdefault(label.id, set()).update(batches)
                continue  # that image is on its way already
            label.desired_key = key
            self.labels.touch(label, now)
            self._mark(batches, label.id, "queued")
            self._waiting.setdefault(label.id, set()).update(batches)
            todo.append((label, job, key))
        if not todo:
            return

        def rendered(images: list[Rendered]) -> None:
            keys = {i.key for i in images}
            for label, _job, key in todo:
                if key in keys:
                    self._progress(label.id, "rendered")

        images = await self.pool.render([job for _, job, _ in todo], rendered)
        for label, job, key in todo:
            if label.desired_key != key:
                continue  # a newer change overtook this one while it rendered
            self._deliver(label, job, images[key])

    def _deliver(self, label: Label, job: RenderJob, image: Rendered) -> None:
        now = self.clock()
        label.desired_hash = image.hash
        label.attempts = 0
        self.labels.touch(label, now)
        if label.ap is None or label.ap not in self.transport.links:
            self._outcome(label.id, "failed", "no access point has heard this label yet")
            return
        if image.hash == label.confirmed_hash == label.shown_hash:
            label.confirmed_key = image.key
            self._outcome(label.id, "skipped", None)
            return
        update = {
            "label": label.id,
            "hash": image.hash,
            "width": image.width,
            "height": image.height,
            "colors": image.colors,
            "encoding": "zlib",
            "image": encode_image(image.planes),
        }
        d = Delivery(label.id, label.ap, image.key, image.hash, update)
        self._shown_price[label.id] = (job.content.price, job.content.currency)
        self.transport.submit(d)

    async def _send(self, ap: str, updates: list[dict[str, Any]]) -> CommandOutcome:
        return await self.hub.command(
            ap, "update", ttl=self.settings.command_ttl_s, updates=updates
        )

    def _on_outcome(self, d: Delivery, stage: Stage, reason: str | None) -> None:
        label = self.labels.get(d.label)
        if label is None:
            return
        now = self.clock()
        if stage == "confirmed":
            label.confirmed_hash = label.shown_hash = d.hash
            label.confirmed_key = d.key
            price = self._shown_price.pop(d.label, None)
            if price is not None:
                label.shown_price, label.shown_currency = price
            label.last_error = None
        elif stage == "failed":
            label.failures += 1
            label.last_error = reason
        label.attempts = d.attempts
        self.labels.touch(label, now)
        if stage == "sent":
            self._progress(d.label, "sent")
        else:
            self._outcome(d.label, stage, reason)

    def _progress(self, label: str, state: State) -> None:
        now = self.clock()
        for bid in self._waiting.get(label, ()):
            b = self.batches.get(bid)
            if b is not None:
                b.set(label, state, now=now)

    def _outcome(self, label: str, state: State, error: str | None) -> None:
        self._mark(self._waiting.pop(label, set()), label, state, error)

    def _mark(
        self, batches: Iterable[str], label: str, state: State, error: str | None = None
    ) -> None:
        now = self.clock()
        for bid in batches:
            b = self.batches.get(bid)
            if b is not None:
                b.set(label, state, error, now=now)

    # -- bindings, LEDs ------------------------------------------------------------------

    async def bind(self, binding: Binding, *, by: str | None = None) -> Label:
        try:
            gtin = normalise_gtin(binding.gtin)
        except GtinError as exc:
            raise BadBatch(str(exc)) from None
        now = self.clock()
        label = self.labels.bind(binding, gtin, now)
        if label.zone is None and label.ap is not None:
            dev = self.hub.registry.get(label.ap)
            label.zone = dev.zone if dev is not None else None
        event = BindingEvent(
            label=label.id,
            action="bind",
            gtin=gtin,
            template=label.template,
            panel=label.panel,
            colors=label.colors,
            zone=label.zone,
            ts=now,
            by=by,
        )
        await self.hub.journal.call(lambda c: write_binding(c, event))
        self.spawn(self.refresh((), set(), labels=[label]), f"esl:bind:{label.id}")
        return label

    def adopt(self, binding: Binding, shown_hash: str) -> Label:
        """Take over a label that already shows its item's current content with image
        ``shown_hash`` (moving an installed ESL system over; benchmarks), without
        rendering or sending anything."""
        now = self.clock()
        label = self.labels.bind(binding, normalise_gtin(binding.gtin), now)
        job = self.job(label, now)
        if isinstance(job, str):
            raise BadBatch(f"{binding.label}: {job}")
        label.confirmed_key = label.desired_key = self.pool.key(job)
        label.confirmed_hash = label.desired_hash = label.shown_hash = shown_hash
        label.shown_price, label.shown_currency = job.content.price, job.content.currency
        return label

    async def unbind(self, label_id: str, *, by: str | None = None) -> Label | None:
        label = self.labels.get(label_id)
        if label is None:
            return None
        now = self.clock()
        old = label.gtin
        self.labels.unbind(label, now)
        self.transport.cancel(label_id)
        event = BindingEvent(
            label=label_id,
            action="unbind",
            gtin=old,
            template=None,
            panel=None,
            colors=None,
            zone=label.zone,
            ts=now,
            by=by,
        )
        await self.hub.journal.call(lambda c: write_binding(c, event))
        return label

    async def flash(
        self, label_id: str, *, color: str = "green", seconds: int = 10, pattern: str = "flash"
    ) -> CommandOutcome:
        label = self.labels.get(label_id)
        if label is None or label.ap is None:
            raise LookupError(f"label {label_id!r} has not checked in through any AP")
        return await self.hub.command(
            label.ap, "led", label=label_id, color=color, seconds=seconds, pattern=pattern
        )

    # -- the scheduler and the writer ----------------------------------------------------

    async def tick(self) -> None:
        """Apply every price and promotion change that became effective since the last tick."""
        now = self.clock()
        due = self.prices.changes_between(self._last_tick, now)
        self._last_tick = now
        if not due:
            return
        if self.settings.sync_catalog:
            await self._sync_catalog(due, now)
        batches = set().union(*due.values())
        await self.refresh(due, batches)

    async def _sync_catalog(self, gtins: Iterable[str], now: float) -> None:
        await follow_catalog(self.catalog, self.prices, self.settings.store_group, gtins, now)

    async def reload_prices(self, gtins: Iterable[str]) -> None:
        """HQ's prices changed in the database (cloud sync, :mod:`hub.esl.published`):
        rebuild the price book from it; the catalog price and the labels of ``gtins``
        follow what is in force now, later effective times are met by the scheduler."""
        book = PriceBook()
        await self.hub.journal.call(book.load)
        self.prices = book
        items = set(gtins)
        if self.settings.sync_catalog:
            await self._sync_catalog(items, self.clock())
        self.spawn(self.refresh(items, set()), "esl:published")

    async def _ticker(self) -> None:
        while True:
            now = self.clock()
            nxt = self.prices.next_change(self._last_tick)
            wait = (
                self.settings.tick_s
                if nxt is None
                else min(self.settings.tick_s, max(0.0, nxt - now))
            )
            await asyncio.sleep(max(wait, 0.01))
            try:
                await self.tick()
            except Exception:
                log.exception("ESL scheduler tick failed")

    async def flush(self) -> None:
        now = self.clock()
        rows = self.labels.take_dirty()
        progress = [r for b in self.batches.values() for r in b.take_dirty(now)]
        changed = list({r[0]: self.batches[r[0]] for r in progress}.values())
        if not rows and not progress:
            return

        def write(conn: sqlite3.Connection) -> None:
            Labels.write(conn, rows)
            write_progress(conn, progress, changed)

        await self.hub.journal.call(write)

    async def _flusher(self) -> None:
        while True:
            await asyncio.sleep(self.settings.flush_s)
            try:
                await self.flush()
            except Exception:
                log.exception("writing ESL state failed")


async def plugin(hub: Hub) -> None:
    """The hub plugin: ``hub.esl.service:plugin``."""
    service = EslService(hub)
    hub.provide(service)
    await service.run()


__all__ = ["EslService", "plugin"]
