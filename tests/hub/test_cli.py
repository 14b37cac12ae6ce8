"""Black-box: ``storehub run`` started only through the contract's environment variables,
a plain-paho device, and the query commands (``devices``, ``events``, ``deadletter``)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO, Mosquitto
from tests.paho_device import PahoDevice

pytestmark = pytest.mark.integration
STOREHUB = [sys.executable, "-m", "hub.cli"]


def wait_for(predicate: object, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


@pytest.fixture
def hub_process(tmp_path: Path, mosquitto: Mosquitto) -> Iterator[dict[str, str]]:
    env = {
        **os.environ,
        "STOREHUB_BROKER_URL": mosquitto.url,
        "STOREHUB_STORE_ID": "s1",
        "STOREHUB_DATA_DIR": str(tmp_path / "data"),
        "STOREHUB_API_PORT": "0",
    }
    env.pop("STOREHUB_CONFIG", None)
    proc = subprocess.Popen(
        [*STOREHUB, "run"], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    yield env
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=15)
    assert proc.returncode == 0, out.decode()[-3000:]


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [*STOREHUB, *args], cwd=REPO, env=env, capture_output=True, timeout=30, check=True
    )
    return done.stdout.decode()


def test_contract_black_box(hub_process: dict[str, str], mosquitto: Mosquitto) -> None:
    watcher = PahoDevice("s1", "watcher", "x", mosquitto.port).start("store/s1/hub/state")
    wait_for(lambda: any(isinstance(b, dict) and b.get("online") for _, b in watcher.messages))
    staff = PahoDevice("s1", "staff", "x", mosquitto.port).start("store/s1/alert")

    door = PahoDevice("s1", "door-in", "door", mosquitto.port).start()
    door.birth()
    seq = door.event("passage", direction="in")
    door.publish(f"{door.base}/event/passage", {"ts": time.time(), "seq": seq, "direction": "in"})
    door.publish(f"{door.base}/event/passage", b"{broken")
    door.event("door", open=True)

    def journaled() -> list[dict[str, object]]:
        out = cli(hub_process, "events", "--json", "--device", "door-in", "--type", "event")
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    wait_for(lambda: len(journaled()) == 2)  # the repeated seq was dropped
    names = [e["name"] for e in journaled()]
    assert names == ["passage", "door"]

    dead = json.loads(cli(hub_process, "deadletter", "--json"))
    assert [(d["device"], d["reason"]) for d in dead] == [("door-in", "not_json")]

    devices = {d["id"]: d for d in json.loads(cli(hub_process, "devices", "--json"))}
    assert devices["door-in"]["online"] == 1 and devices["door-in"]["model"] == "paho"
    assert devices["gate-out"]["online"] is None

    door.vanish()
    t0 = time.monotonic()
    wait_for(
        lambda: any(
            isinstance(b, dict) and b.get("kind") == "device_offline" for _, b in staff.messages
        ),
        timeout=10,
    )
    assert time.monotonic() - t0 < 10

    # Human-readable forms render too.
    assert "door-in" in cli(hub_process, "devices")
    assert "not_json" in cli(hub_process, "deadletter", "--summary")
    assert "passage" in cli(hub_process, "events", "-n", "5")
    watcher.stop()
    staff.stop()


def test_hub_says_goodbye_on_sigterm(tmp_path: Path, mosquitto: Mosquitto) -> None:
    env = {
        **os.environ,
        "STOREHUB_BROKER_URL": mosquitto.url,
        "STOREHUB_DATA_DIR": str(tmp_path / "d"),
        "STOREHUB_API_PORT": "0",
    }
    watcher = PahoDevice("s1", "watcher", "x", mosquitto.port).start("store/s1/hub/state")
    proc = subprocess.Popen(
        [*STOREHUB, "run"], cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wait_for(lambda: any(isinstance(b, dict) and b.get("online") for _, b in watcher.messages))
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(15) == 0
    wait_for(
        lambda: (
            isinstance(watcher.messages[-1][1], dict)
            and watcher.messages[-1][1].get("online") is False
        )
    )
    watcher.stop()


def test_bad_config_fails_at_startup_naming_file_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[devices]]\nid = "door-in"\nkind = "door"\nrole = "sideways"\n')
    done = subprocess.run(
        [*STOREHUB, "run"],
        cwd=REPO,
        capture_output=True,
        timeout=30,
        env={**os.environ, "STOREHUB_CONFIG": str(bad), "STOREHUB_DATA_DIR": str(tmp_path)},
    )
    assert done.returncode == 2
    err = done.stderr.decode()
    assert str(bad) in err and "devices[0] (id=door-in).role" in err


def test_missing_mosquitto_says_how_to_install(tmp_path: Path) -> None:
    config = tmp_path / "store.toml"
    config.write_text('[broker]\nexecutable = "/nonexistent/mosquitto"\nport = 0\n')
    done = subprocess.run(
        [*STOREHUB, "run"],
        cwd=REPO,
        capture_output=True,
        timeout=30,
        env={
            **os.environ,
            "STOREHUB_CONFIG": str(config),
            "STOREHUB_DATA_DIR": str(tmp_path),
            "STOREHUB_API_PORT": "0",
            "PATH": "/nonexistent",
        },
    )
    assert done.returncode == 1
    assert "apt-get install mosquitto" in done.stderr.decode()
