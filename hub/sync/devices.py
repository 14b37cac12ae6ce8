"""The ``device`` applier: HQ provisions a device (key = device id).

The change's data (:class:`DeviceData`: ``kind``, ``zone``, ``name``, ``config``) is
turned into one device entry — exactly what a ``[[devices]]`` table of the store file
would hold — and validated with the same discriminated union of every driver's config
model, so a device HQ sends is held to the store file's rules.  It is refused (the
change is quarantined, nothing is written) when:

- the config does not validate for its kind, or names an unknown kind;
- the store file defines that device id: the store file manages it;
- it carries a ``password``: a provisioned device's MQTT password is generated in the
  store (hub/secrets.py) and never travels through the feed;
- its kind reads a topic of its own (a device in a vendor's wire format, e.g. a Zebra
  reader's data topic): those are set up in the store file, with the broker beside them.

Otherwise the device is written to ``devices`` with ``source = 'cloud'`` (a delete
marks it removed) and the latest document is kept in ``sync_documents``.  The running
hub follows after the page commits (hub/provisioning.py), and at every start.
"""

from __future__ import annotations

import re
import sqlite3

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError

from devices import drivers
from devices.base import DEVICE_ID_PATTERN, DeviceConfig
from hub.registry import parse_device
from hub.sync.errors import ChangeRejected
from hub.sync.protocol import Change
from hub.sync.store import put_document, stale


class DeviceData(BaseModel):
    # HQ may send more than the store uses: unknown fields are ignored, as on the wire.
    model_config = ConfigDict(frozen=True, extra="ignore")

    kind: str = Field(pattern=r"^[a-z0-9_]+$")
    zone: str | None = None
    name: str = ""
    #: The kind's own settings (``weight_tolerance_g``, ``capacity``, ...).
    config: dict[str, JsonValue] = Field(default_factory=dict)


def device_id(text: str) -> str:
    if not re.match(DEVICE_ID_PATTERN, text):
        raise ChangeRejected(f"{text!r} is not a device id")
    return text


def device_config(key: str, data: DeviceData) -> DeviceConfig:
    """The device entry HQ's change describes, validated; :class:`ChangeRejected` if not."""
    raw: dict[str, JsonValue] = dict(data.config)
    if "password" in raw:
        raise ChangeRejected("config.password: not accepted from HQ (the store generates it)")
    if raw.get("id", key) != key:
        raise ChangeRejected(f"config.id: {raw['id']!r} is not the change's key {key!r}")
    if raw.get("kind", data.kind) != data.kind:
        raise ChangeRejected(f"config.kind: {raw['kind']!r} is not the change's kind")
    raw.update(id=key, kind=data.kind)
    if data.zone is not None:
        raw["zone"] = data.zone
    if data.name:
        raw["name"] = data.name
    if data.kind not in drivers():
        raise ChangeRejected(f"kind: no driver for device kind {data.kind!r}")
    try:
        config = parse_device(raw)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        loc = [str(p) for p in err["loc"]]
        if loc and loc[0] == data.kind:
            loc = loc[1:]  # the union tag pydantic puts first
        where = ".".join(loc) or "config"
        raise ChangeRejected(f"config.{where}: {err['msg']}") from None
    own = drivers()[config.kind](config).subscriptions()
    if own:
        raise ChangeRejected(
            f"{config.kind} reads its own topic ({', '.join(own)}): set it up in the store file"
        )
    return config


def apply_device(conn: sqlite3.Connection, change: Change) -> None:
    key = device_id(change.key)
    row = conn.execute("SELECT source, removed FROM devices WHERE id = ?", (key,)).fetchone()
    if row is not None and row[0] == "config" and not row[1]:
        raise ChangeRejected(
            f"device {key!r} is defined in the store file, which manages it; "
            "remove it there before HQ can provision it"
        )
    if stale(conn, change.type, key, change.version):
        return  # a later version is in force already
    if change.op == "delete":
        conn.execute("UPDATE devices SET removed = 1 WHERE id = ? AND source = 'cloud'", (key,))
        put_document(conn, change, key, None)
        return
    data = DeviceData.model_validate(change.data)
    config = device_config(key, data)
    conn.execute(
        "INSERT INTO devices(id, kind, zone, role, name, may_sleep, config, removed, source)"
        " VALUES (?,?,?,?,?,?,?,0,'cloud') ON CONFLICT(id) DO UPDATE SET kind=excluded.kind,"
        " zone=excluded.zone, role=excluded.role, name=excluded.name,"
        " may_sleep=excluded.may_sleep, config=excluded.config, removed=0, source='cloud'",
        (
            config.id,
            config.kind,
            config.zone,
            config.role,
            config.name,
            int(config.may_sleep),
            config.model_dump_json(exclude={"password"}),
        ),
    )
    put_document(conn, change, key, data.model_dump_json())
