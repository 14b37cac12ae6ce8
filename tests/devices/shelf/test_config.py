"""devices.shelf.config: the planogram, GTIN-14 normalisation, errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from devices.shelf.config import ShelfConfig
from hub.config import load_store_file
from hub.errors import ConfigError

HEAD = '[[devices]]\nid = "shelf-1"\nkind = "shelf"\n'


def load(tmp_path: Path, body: str) -> ShelfConfig:
    path = tmp_path / "store.toml"
    path.write_text(HEAD + body)
    [device] = load_store_file(path).devices
    assert isinstance(device, ShelfConfig)
    return device


def test_a_shelf_entry_with_defaults_and_gtins_as_gtin14(tmp_path: Path) -> None:
    shelf = load(
        tmp_path, 'slots = { A1 = "6901234567892", b_2 = "96385074", C-3 = "036000291452" }\n'
    )
    assert shelf.slots == {"A1": "06901234567892", "b_2": "00000096385074", "C-3": "00036000291452"}
    assert (shelf.noise_g, shelf.settle_s) == (3.0, 0.3)


def test_settings(tmp_path: Path) -> None:
    shelf = load(tmp_path, 'slots = { A1 = "06901234567892" }\nnoise_g = 0.5\nsettle_s = 0\n')
    assert (shelf.noise_g, shelf.settle_s) == (0.5, 0.0)


@pytest.mark.parametrize(
    ("body", "key", "message"),
    [
        ('slots = { A1 = "6901234567891" }', "slots.A1", "wrong check digit"),
        ('slots = { A1 = "69012345678" }', "slots.A1", "not a GTIN"),
        ('slots = { A1 = "69O1234567892" }', "slots.A1", "not a GTIN"),
        ("slots = { A1 = 6901234567892 }", "slots.A1", "valid string"),
        ('slots = { "A 1" = "6901234567892" }', "slots.A 1", "pattern"),
        ("slots = {}", "slots", "at least 1"),
        ("", "slots", "required"),
        ('slots = { A1 = "6901234567892" }\nnoise_g = 0', "noise_g", "greater than 0"),
        ('slots = { A1 = "6901234567892" }\nsettle_s = -1', "settle_s", "greater than or equal"),
        ('slots = { A1 = "6901234567892" }\nshelves = 3', "shelves", "Extra inputs"),
    ],
)
def test_bad_entries_name_the_key(tmp_path: Path, body: str, key: str, message: str) -> None:
    path = tmp_path / "store.toml"
    path.write_text(HEAD + body + "\n")
    with pytest.raises(ConfigError) as info:
        load_store_file(path)
    assert f"devices[0] (id=shelf-1).{key}" in str(info.value)
    assert message in str(info.value)
