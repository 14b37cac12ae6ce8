"""Devices HQ provisions through cloud sync, brought into the running hub.

    inbox ─▶ ``device`` applier (hub/sync/devices.py): validated with the device-config
             union, written to ``devices`` (source 'cloud') in the page's transaction
    after the commit ─▶ :func:`apply_provisioned`: the registry adds, replaces or forgets
             the device, its driver task is started or cancelled, its MQTT password is
             generated (``secrets.json``; ``storehub devices --secrets`` shows it) or
             forgotten, and the managed broker reloads its users and ACL (SIGHUP)

At the next start :meth:`hub.registry.Registry.load` reads the same rows, so a
provisioned device survives a restart without HQ sending it again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from hub import topics
from hub.broker import BrokerUser
from hub.registry import Registry, provisioned_configs
from hub.secrets import Credentials, forget_secrets, load_secrets

if TYPE_CHECKING:
    from hub.hub import Hub

log = logging.getLogger("storehub.provisioning")


def broker_users(
    store_id: str, registry: Registry, creds: Mapping[str, Credentials]
) -> list[BrokerUser]:
    """The managed broker's logins: the hub (everything of its store) and one per device
    (its own topics only)."""
    hub = creds[""]
    foreign = tuple(t for d in registry for t in d.driver.subscriptions())
    users = [
        BrokerUser(
            hub.username,
            hub.password,
            (f"store/{store_id}/#",),
            (f"store/{store_id}/#", *foreign),
        )
    ]
    for device in registry:
        pub, sub = topics.device_acl(store_id, device.id)
        # A device in its own format (e.g. a Zebra reader) publishes on its data topic.
        own = tuple(device.driver.subscriptions())
        users.append(BrokerUser(device.id, creds[device.id].password, pub + own, sub))
    return users


async def apply_provisioned(hub: Hub, device_ids: Iterable[str]) -> list[str]:
    """Make the running hub match the ``devices`` table for ``device_ids`` (after an inbox
    page with ``device`` changes committed); returns the ids that changed."""
    wanted = {c.id: c for c in await hub.journal.call(provisioned_configs)}
    registry = hub.registry
    changed: list[str] = []
    gone: list[str] = []
    for device_id in sorted(set(device_ids)):
        if device_id in registry.configured:
            continue  # the store file's own device: the applier refused it already
        config = wanted.get(device_id)
        current = registry.get(device_id)
        if config is None:
            if current is None:
                continue
            await hub.stop_driver(device_id)
            registry.remove(device_id)
            gone.append(device_id)
            log.info("provisioned device %s removed", device_id)
        else:
            if current is not None and current.config == config:
                continue
            if current is not None:
                await hub.stop_driver(device_id)
            device, _old = registry.put(config)
            hub.start_driver(device)
            log.info(
                "provisioned device %s (%s) %s",
                device_id,
                config.kind,
                "updated" if current is not None else "added",
            )
        changed.append(device_id)
    if changed:
        await refresh_broker(hub, forget=gone)
    return changed


async def refresh_broker(hub: Hub, *, forget: Iterable[str] = ()) -> None:
    """Give every registered device a password and reload the managed broker's users."""
    data_dir = hub.config.data_dir
    configs = [d.config for d in hub.registry]
    forget = list(forget)

    def secrets() -> dict[str, Credentials]:
        if forget:
            forget_secrets(data_dir, forget)
        return load_secrets(data_dir, configs)

    creds = await asyncio.to_thread(secrets)
    if hub.broker is not None:
        await hub.broker.update_users(broker_users(hub.store_id, hub.registry, creds))
