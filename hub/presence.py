"""Presence → staff alerts: ``device_offline`` after a will, cleared by ``device_online``.

Built in (the contract requires it); the rules engine may add more on top.
"""

from __future__ import annotations

import asyncio
import functools
import logging

from hub.alerts import Alerts
from hub.bus import Subscription
from hub.events import PresenceChanged
from hub.registry import Registry

log = logging.getLogger("storehub.presence")


def offline_key(device: str) -> str:
    return f"device_offline:{device}"


async def watch_presence(
    sub: Subscription, registry: Registry, alerts: Alerts, *, delay: float = 0.0
) -> None:
    """Consume presence changes; runs until cancelled."""
    pending: dict[str, asyncio.Task[None]] = {}

    async def raise_later(event: PresenceChanged) -> None:
        if delay:
            await asyncio.sleep(delay)
        device = registry.get(event.device)
        if device is None or device.online is not False:
            return
        await alerts.raise_(
            "device_offline",
            "warning",
            f"{event.kind} {event.device} went offline",
            device=event.device,
            zone=event.zone,
            key=offline_key(event.device),
            data={"reason": event.reason, "since": event.ts},
        )

    async for event in sub:
        if not isinstance(event, PresenceChanged):
            continue
        device = registry.get(event.device)
        if device is None:
            continue
        if not event.online:
            if device.config.may_sleep:
                continue
            task = asyncio.create_task(raise_later(event))
            pending[event.device] = task
            task.add_done_callback(functools.partial(_forget, pending, event.device))
        else:
            task_or_none = pending.pop(event.device, None)
            if task_or_none is not None:
                task_or_none.cancel()
            await alerts.resolve(
                key=offline_key(event.device),
                notify=("device_online", f"{event.kind} {event.device} is back online"),
            )


def _forget(pending: dict[str, asyncio.Task[None]], device: str, task: asyncio.Task[None]) -> None:
    if pending.get(device) is task:
        del pending[device]
