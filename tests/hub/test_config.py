from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from devices.door.config import DoorConfig
from devices.rfid_gate.config import RfidGateConfig
from hub.config import (
    BrokerConfig,
    BrokerUrl,
    EnvSettings,
    TlsConfig,
    load_config,
    load_store_file,
)
from hub.errors import ConfigError
from tests.conftest import DEMO


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "store.toml"
    path.write_text(text)
    return path


def test_demo_store_has_the_contract_devices() -> None:
    store = load_store_file(DEMO)
    ids = {d.id: d for d in store.devices}
    assert isinstance(ids["door-in"], DoorConfig)
    assert isinstance(ids["door-out"], DoorConfig)
    gate = ids["gate-out"]
    assert isinstance(gate, RfidGateConfig)
    assert gate.inside_antennas == [1] and gate.outside_antennas == [2] and gate.exit
    assert ids["kiosk-1"].kind == "kiosk"


def test_env_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STOREHUB_STORE_ID", "s9")
    monkeypatch.setenv("STOREHUB_API_PORT", "0")
    monkeypatch.setenv("STOREHUB_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("STOREHUB_BROKER_URL", "mqtts://u%40x:p@broker.local:8884")
    monkeypatch.setenv("STOREHUB_CONFIG", str(DEMO))
    cfg = load_config()
    assert cfg.store_id == "s9"
    assert cfg.api_port == 0
    assert cfg.data_dir == tmp_path.resolve()
    assert cfg.broker_url == BrokerUrl(
        scheme="mqtts", host="broker.local", port=8884, username="u@x", password="p"
    )


def test_default_config_is_the_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STOREHUB_CONFIG", raising=False)
    assert load_config().source.resolve() == DEMO


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[store]\nid = 's1'\nnmae = 'x'\n", "store.nmae: Extra inputs are not permitted"),
        ("[broker]\nport = 'high'\n", "broker.port: Input should be a valid integer"),
        ("[[devices]]\nid = 'd1'\nkind = 'toaster'\n", "devices[0] (id=d1).kind"),
        ("[[devices]]\nid = 'Bad_Id'\nkind = 'door'\n", "devices[0] (id=Bad_Id).id"),
        (
            "[[devices]]\nid = 'g'\nkind = 'rfid_gate'\ninside_antennas = [1]\n"
            "outside_antennas = [1]\n",
            "antennas [1] are both inside and outside",
        ),
        (
            "[[devices]]\nid = 'g'\nkind = 'rfid_gate'\ninside_antennas = [1]\n",
            "devices[0] (id=g).outside_antennas: Field required",
        ),
        (
            "[[devices]]\nid = 'd'\nkind = 'door'\ncolour = 'red'\n",
            "devices[0] (id=d).colour: Extra inputs are not permitted",
        ),
        (
            "[[devices]]\nid = 'd'\nkind = 'door'\n[[devices]]\nid = 'd'\nkind = 'kiosk'\n",
            "device id 'd' is used twice",
        ),
        ("this is = = not toml", "not valid TOML"),
    ],
)
def test_bad_config_names_file_and_key(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_store_file(path)
    assert str(path) in str(info.value)
    assert expected in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_store_file(tmp_path / "nope.toml")


@pytest.mark.parametrize(
    ("env", "value", "expected"),
    [
        ("STOREHUB_BROKER_URL", "http://x", "STOREHUB_BROKER_URL"),
        ("STOREHUB_API_PORT", "eighty", "STOREHUB_API_PORT"),
        ("STOREHUB_STORE_ID", "S 1", "STOREHUB_STORE_ID"),
    ],
)
def test_bad_env(monkeypatch: pytest.MonkeyPatch, env: str, value: str, expected: str) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(ConfigError, match=expected):
        load_config(EnvSettings(config=DEMO) if env != "STOREHUB_API_PORT" else None)


def test_the_brokers_tls_listener_needs_its_own_port() -> None:
    with pytest.raises(ValidationError, match="its own"):
        BrokerConfig(port=8883, tls=TlsConfig(port=8883, certfile=Path("c"), keyfile=Path("k")))
    assert BrokerConfig(port=1883, tls=TlsConfig(port=8883, certfile=Path("c"), keyfile=Path("k")))
