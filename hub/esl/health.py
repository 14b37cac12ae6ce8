"""Label health: check-ins, dead and low-battery labels, and the shelf-vs-checkout price audit.

- Every ``checkin`` updates the label's row (battery, signal, temperature, firmware,
  what it shows, when it will check in next).  A label showing something else
  than it should (reset, blank, a failed update) is queued again at once.
- A label that misses ``missed_intervals`` check-in intervals raises
  ``esl_label_offline`` (or, when many go at once, one ``esl_labels_offline``
  per AP: a dead AP must not page staff a thousand times); the next check-in
  resolves it.  A battery under ``low_battery_mv`` raises ``esl_low_battery``.
- A settled label whose regular price differs from what the checkout charges
  raises ``price_mismatch`` (an incident: the shelf must equal the till).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from devices.esl_ap.codec import Checkin, LabelResult, Results
from hub.bus import Subscription
from hub.esl.content import panel_for
from hub.esl.labels import Label
from hub.events import DeviceEvent
from hub.pricing.money import format_minor

if TYPE_CHECKING:
    from hub.esl.service import EslService

log = logging.getLogger("storehub.esl.health")

#: Hysteresis: a low-battery alert clears only this far above the threshold.
BATTERY_CLEAR_MV = 100


class Health:
    def __init__(self, service: EslService) -> None:
        self.s = service
        #: What the checkout charges for one unit (minor units); default: the catalog's
        #: list price.  Replace to include checkout promotions.
        self.checkout_price: Callable[[str], int | None] = self._catalog_price
        self.offline: set[str] = set()
        self.checkins = 0

    def _catalog_price(self, gtin: str) -> int | None:
        item = self.s.catalog.get(gtin)
        return item.price if item is not None else None

    async def run(self, events: Subscription) -> None:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._consume(events))
            tg.create_task(self._every(self.s.settings.health_check_s, self.sweep))
            tg.create_task(self._every(self.s.settings.audit_s, self.audit))

    async def _every(self, seconds: float, fn: Callable[[], object]) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                result = fn()
                if asyncio.iscoroutine(result):
                    await result
            except Exception:
                log.exception("ESL health check failed")

    async def _consume(self, events: Subscription) -> None:
        async for event in events:
            if not isinstance(event, DeviceEvent):
                continue
            try:
                if isinstance(event.payload, Checkin):
                    await self.on_checkin(event.device, event.payload)
                elif isinstance(event.payload, Results):
                    self.on_results(event.device, event.payload.results)
            except Exception:
                log.exception("ESL event %s from %s failed", event.name, event.device)

    # -- events ---------------------------------------------------------------------

    def on_results(self, ap: str, results: list[LabelResult]) -> None:
        for r in self.s.transport.on_results(ap, results):
            label = self.s.labels.get(r.label)
            # A result for an update already given up on (overdue) may still be good news.
            if label is not None and r.status == "ok" and r.hash == label.desired_hash:
                label.confirmed_hash = label.shown_hash = r.hash
                label.confirmed_key = label.desired_key
                self.s.labels.touch(label, self.s.clock())
                self.s._outcome(label.id, "confirmed", None)

    async def on_checkin(self, ap: str, payload: Checkin) -> None:
        now = self.s.clock()
        threshold = self.s.settings.low_battery_mv
        stale: list[Label] = []
        for row in payload.labels:
            self.checkins += 1
            label = self.s.labels.ensure(row.label, now)
            if label.ap != ap:
                if label.ap is not None:
                    self.s.transport.cancel(label.id)  # it moved: queued images go the new way
                label.ap = ap
                label.desired_hash = None
            label.battery_mv, label.rssi, label.lqi = row.battery_mv, row.rssi, row.lqi
            label.temp_c, label.fw, label.shown_hash = row.temp_c, row.fw, row.hash
            label.last_seen, label.interval_s = now, row.next_s
            label.next_checkin = now + row.next_s
            if label.panel is None and row.width and row.height:
                panel = panel_for(row.width, row.height)
                if panel is not None:
                    label.panel, label.colors = panel.key, row.colors or "bw"
            self.s.labels.touch(label, now)
            if label.id in self.offline:
                self.offline.discard(label.id)
                await self.s.hub.alerts.resolve(key=f"esl_label_offline:{label.id}")
            await self._battery(label, threshold)
            if label.gtin is None or self.s.transport.queued_for(label.id) is not None:
                continue
            if label.desired_hash is None or row.hash != label.desired_hash:
                stale.append(label)
            else:
                await self.check_price(label)
        if stale:
            self.s.spawn(self.s.refresh((), set(), labels=stale), f"esl:resync:{ap}")

    async def _battery(self, label: Label, threshold: int) -> None:
        key = f"esl_low_battery:{label.id}"
        mv = label.battery_mv or 0
        live = self.s.hub.alerts.find(key) is not None
        if mv < threshold and not live:
            await self.s.hub.alerts.raise_(
                "esl_low_battery",
                "warning",
                f"Shelf label {label.id}: battery low ({mv} mV)",
                device=label.ap,
                zone=label.zone,
                key=key,
                data={
                    "label": label.id,
                    "gtin": label.gtin,
                    "battery_mv": mv,
                    "threshold_mv": threshold,
                },
            )
        elif live and mv >= threshold + BATTERY_CLEAR_MV:
            await self.s.hub.alerts.resolve(key=key)

    # -- sweeps ---------------------------------------------------------------------

    async def sweep(self) -> list[str]:
        """Raise alerts for labels that missed their check-ins; returns their ids."""
        now = self.s.clock()
        factor = self.s.settings.missed_intervals
        missing: dict[str | None, list[Label]] = {}
        for label in self.s.labels:
            if (
                label.id in self.offline
                or label.last_seen is None
                or not label.interval_s
                or now <= label.last_seen + factor * label.interval_s
            ):
                continue
            missing.setdefault(label.ap, []).append(label)
        found: list[str] = []
        for ap, labels in missing.items():
            found += [label.id for label in labels]
            self.offline.update(label.id for label in labels)
            if len(labels) > self.s.settings.offline_summary_over:
                await self.s.hub.alerts.raise_(
                    "esl_labels_offline",
                    "warning",
                    f"{len(labels)} shelf labels on {ap} stopped checking in",
                    device=ap,
                    key=f"esl_labels_offline:{ap}:{int(now)}",
                    data={
                        "ap": ap,
                        "count": len(labels),
                        "labels": sorted(label.id for label in labels)[:50],
                    },
                )
                continue
            for label in labels:
                await self.s.hub.alerts.raise_(
                    "esl_label_offline",
                    "warning",
                    f"Shelf label {label.id} missed its check-ins",
                    device=ap,
                    zone=label.zone,
                    key=f"esl_label_offline:{label.id}",
                    data={
                        "label": label.id,
                        "gtin": label.gtin,
                        "last_seen": label.last_seen,
                        "interval_s": label.interval_s,
                        "battery_mv": label.battery_mv,
                    },
                )
        return found

    async def audit(self) -> int:
        """Check every settled label's price against the checkout; returns mismatches."""
        bad = 0
        for label in list(self.s.labels):
            bad += int(await self.check_price(label))
        return bad

    async def check_price(self, label: Label) -> bool:
        """``price_mismatch`` when a settled label shows a price the checkout does not charge."""
        if (
            label.gtin is None
            or label.shown_price is None
            or label.desired_key is None
            or label.desired_key != label.confirmed_key
            or label.shown_hash != label.confirmed_hash
            or self.s.transport.queued_for(label.id) is not None
        ):
            return False
        checkout = self.checkout_price(label.gtin)
        key = f"price_mismatch:{label.id}"
        if checkout is None or checkout == label.shown_price:
            if self.s.hub.alerts.find(key) is not None:
                await self.s.hub.alerts.resolve(key=key)
            return False
        currency = label.shown_currency or "CNY"
        await self.s.hub.alerts.raise_(
            "price_mismatch",
            "warning",
            f"Shelf price {format_minor(label.shown_price, currency)} ≠ checkout "
            f"{format_minor(checkout, currency)} for {label.gtin} (label {label.id})",
            device=label.ap,
            zone=label.zone,
            key=key,
            data={
                "label": label.id,
                "gtin": label.gtin,
                "currency": currency,
                "shelf": format_minor(label.shown_price, currency),
                "checkout": format_minor(checkout, currency),
            },
        )
        return True
