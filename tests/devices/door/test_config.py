"""devices.door.config: vestibule doors (``vestibule`` with ``side``), the fail-safe."""

from __future__ import annotations

from pathlib import Path

import pytest

from devices.door.config import DoorConfig
from hub.config import load_store_file
from hub.errors import ConfigError

HEAD = '[[devices]]\nid = "door-x"\nkind = "door"\n'


def load(tmp_path: Path, body: str) -> DoorConfig:
    path = tmp_path / "store.toml"
    path.write_text(HEAD + body + "\n")
    [device] = load_store_file(path).devices
    assert isinstance(device, DoorConfig)
    return device


def test_a_plain_door_has_no_vestibule(tmp_path: Path) -> None:
    door = load(tmp_path, "")
    assert (door.vestibule, door.side, door.fail_safe) == (None, None, "open")


@pytest.mark.parametrize("side", ["inner", "outer"])
def test_a_vestibule_door(tmp_path: Path, side: str) -> None:
    door = load(tmp_path, f'vestibule = "exit-1"\nside = "{side}"\nfail_safe = "locked"')
    assert (door.vestibule, door.side, door.fail_safe) == ("exit-1", side, "locked")


@pytest.mark.parametrize(
    ("body", "key", "message"),
    [
        ('vestibule = "exit-1"', "side", "needs side"),
        ('side = "inner"', "side", "only for a door of a vestibule"),
        ('vestibule = "exit-1"\nside = "middle"', "side", "'inner' or 'outer'"),
        ('vestibule = "exit 1"\nside = "inner"', "vestibule", "pattern"),
        ('fail_safe = "ajar"', "fail_safe", "'open' or 'locked'"),
    ],
)
def test_bad_entries_name_the_key(tmp_path: Path, body: str, key: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, body)
    assert f"devices[0] (id=door-x).{key}:" in str(info.value)
    assert message in str(info.value)


def test_the_model_checks_side_and_vestibule_too() -> None:
    assert DoorConfig(id="d", vestibule="v", side="outer").side == "outer"
    with pytest.raises(ValueError, match="needs side"):
        DoorConfig(id="d", vestibule="v")
    with pytest.raises(ValueError, match="only for a door of a vestibule"):
        DoorConfig(id="d", side="inner")
