"""devices.kiosk.config: ``entry_door`` of an entrance kiosk."""

from __future__ import annotations

from pathlib import Path

import pytest

from devices.kiosk.config import KioskConfig
from hub.config import load_store_file
from hub.errors import ConfigError

HEAD = '[[devices]]\nid = "kiosk-in"\nkind = "kiosk"\n'


def test_entry_door_defaults_to_none_and_takes_a_device_id(tmp_path: Path) -> None:
    path = tmp_path / "store.toml"
    path.write_text(HEAD)
    [plain] = load_store_file(path).devices
    assert isinstance(plain, KioskConfig) and plain.entry_door is None
    path.write_text(HEAD + 'entry_door = "door-in"\n')
    [entrance] = load_store_file(path).devices
    assert isinstance(entrance, KioskConfig) and entrance.entry_door == "door-in"


def test_entry_door_must_be_a_device_id(tmp_path: Path) -> None:
    path = tmp_path / "store.toml"
    path.write_text(HEAD + 'entry_door = "Door In"\n')
    with pytest.raises(ConfigError, match=r"devices\[0\] \(id=kiosk-in\)\.entry_door: .*pattern"):
        load_store_file(path)
