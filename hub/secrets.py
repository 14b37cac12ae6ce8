"""MQTT credentials for the managed broker, kept in ``DATA_DIR/secrets.json`` (mode 0600).

A device's password comes from its config when set there; otherwise one is
generated once and kept here, so the simulators (and the installer of a real
device) can read it with ``storehub devices --secrets``.  Devices HQ provisions
through cloud sync never carry a password: theirs is always generated here, and
forgotten when HQ removes the device (a decommissioned credential never returns).
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from devices.base import DeviceConfig

HUB_USER = "storehub"


@dataclass(frozen=True, slots=True)
class Credentials:
    username: str
    password: str


def _path(data_dir: Path) -> Path:
    return data_dir / "secrets.json"


def load_secrets(data_dir: Path, devices: list[DeviceConfig]) -> dict[str, Credentials]:
    """Credentials for the hub (key ``""``) and every device, creating what is missing."""
    path = _path(data_dir)
    stored: dict[str, str] = {}
    if path.exists():
        stored = json.loads(path.read_text())
    changed = False
    for key in ["", *(d.id for d in devices)]:
        if key not in stored:
            stored[key] = secrets.token_urlsafe(18)
            changed = True
    if changed:
        _write(data_dir, stored)
    creds = {"": Credentials(HUB_USER, stored[""])}
    for d in devices:
        password = d.password.get_secret_value() if d.password else stored[d.id]
        creds[d.id] = Credentials(d.id, password)
    return creds


def forget_secrets(data_dir: Path, device_ids: Iterable[str]) -> None:
    """Drop the generated passwords of devices that are gone (never the hub's own)."""
    path = _path(data_dir)
    if not path.exists():
        return
    stored: dict[str, str] = json.loads(path.read_text())
    doomed = {d for d in device_ids if d and d in stored}
    if doomed:
        _write(data_dir, {k: v for k, v in stored.items() if k not in doomed})


def _write(data_dir: Path, stored: dict[str, str]) -> None:
    path = _path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(stored, fh, indent=1)
    tmp.replace(path)
