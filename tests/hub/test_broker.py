"""Tests for hub.broker: pure renderers, then a real Mosquitto per test."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import ssl
import subprocess
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiomqtt
import pytest

from hub.broker import (
    BrokerUser,
    ManagedBroker,
    TlsListener,
    free_port,
    render_acl,
    render_config,
)
from hub.errors import BrokerError, MosquittoNotFound

DEVICE = "store/s1/device/door-in"
HUB = BrokerUser("hub", "hub-secret", publish=("store/s1/#",), subscribe=("store/s1/#",))
DOOR_IN = BrokerUser(
    "door-in",
    "door-secret",
    publish=(f"{DEVICE}/state", f"{DEVICE}/event/#", f"{DEVICE}/reply"),
    subscribe=(f"{DEVICE}/command/#",),
)
HAVE_MOSQUITTO = bool(shutil.which("mosquitto") or Path("/usr/sbin/mosquitto").exists())


# --- pure functions ---------------------------------------------------------


def test_render_acl_maps_publish_and_subscribe_to_access_kinds() -> None:
    user = BrokerUser("u", "p", publish=("a/#", "b"), subscribe=("b", "c/+"))
    assert render_acl([user]) == "user u\ntopic write a/#\ntopic readwrite b\ntopic read c/+\n"


def test_render_acl_has_one_block_per_user() -> None:
    text = render_acl([HUB, DOOR_IN])
    assert text.count("user ") == 2
    assert "user hub\ntopic readwrite store/s1/#\n" in text
    assert f"topic write {DEVICE}/event/#" in text
    assert f"topic read {DEVICE}/command/#" in text


def test_render_config_locks_down_and_persists(tmp_path: Path) -> None:
    lines = render_config(broker_dir=tmp_path, port=1884).splitlines()
    for expected in (
        "per_listener_settings false",
        "allow_anonymous false",
        f"password_file {tmp_path / 'passwd'}",
        f"acl_file {tmp_path / 'acl'}",
        "persistence true",
        f"persistence_location {tmp_path}",
        "max_inflight_messages 1000",
        "max_queued_messages 100000",
        "log_dest stderr",
        "connection_messages true",
        "listener 1884 127.0.0.1",
    ):
        assert expected in lines
    packet_size = next(int(x.split()[1]) for x in lines if x.startswith("max_packet_size "))
    assert packet_size > 1024 * 1024 + 1024
    assert not any(x.startswith(("user ", "certfile", "port ", "bind_address")) for x in lines)


def test_render_config_tls_listener_follows_its_listener_line(tmp_path: Path) -> None:
    tls = TlsListener(8883, tmp_path / "c.pem", tmp_path / "k.pem", tmp_path / "ca.pem", "0.0.0.0")
    text = render_config(broker_dir=tmp_path, port=1883, host="::1", tls=tls, run_as="root")
    assert "listener 1883 ::1\n" in text
    assert (
        f"listener 8883 0.0.0.0\ncertfile {tmp_path / 'c.pem'}\n"
        f"keyfile {tmp_path / 'k.pem'}\ncafile {tmp_path / 'ca.pem'}\n"
    ) in text
    assert "\nuser root\n" in text


@pytest.mark.parametrize(
    ("username", "password", "topic"),
    [("a:b", "p", "t"), ("a b", "p", "t"), ("", "p", "t"), ("u", "p\nx", "t"), ("u", "p", "t\nx")],
)
def test_broker_user_rejects_values_that_break_the_files(
    username: str, password: str, topic: str
) -> None:
    with pytest.raises(ValueError, match=r"must|may not"):
        BrokerUser(username, password, publish=(topic,))


def test_free_port_is_bindable() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


async def test_missing_executable_says_how_to_install(tmp_path: Path) -> None:
    broker = ManagedBroker(data_dir=tmp_path, port=free_port(), users=[], executable="no-mosq-x")
    with pytest.raises(MosquittoNotFound, match=r"apt-get install mosquitto.*STOREHUB_BROKER_URL"):
        async with broker:
            pass


# --- a real broker ------------------------------------------------------------


def client(
    broker: ManagedBroker,
    user: BrokerUser | None,
    password: str | None = None,
    session: str | None = None,
) -> aiomqtt.Client:
    """A client of ``broker``; ``session`` names a persistent (clean_session=False) one."""
    host, port = broker.url.removeprefix("mqtt://").rsplit(":", 1)
    return aiomqtt.Client(
        host,
        int(port),
        username=user.username if user else None,
        password=password or (user.password if user else None),
        identifier=session,
        clean_session=False if session else None,
        timeout=5,
    )


async def next_topic(mqtt: aiomqtt.Client) -> str:
    async with asyncio.timeout(5):
        async for message in mqtt.messages:
            return message.topic.value
    raise AssertionError("message stream ended")


async def connects(make: Callable[[], aiomqtt.Client], attempts: int = 40) -> bool:
    """Retry a connection for ~2 s: reloads and restarts are asynchronous."""
    for _ in range(attempts):
        try:
            async with make():
                return True
        except aiomqtt.MqttError:
            await asyncio.sleep(0.05)
    return False


@pytest.fixture
async def broker(tmp_path: Path) -> AsyncIterator[ManagedBroker]:
    async with ManagedBroker(data_dir=tmp_path, port=free_port(), users=[HUB, DOOR_IN]) as b:
        yield b


@pytest.fixture
def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, made by the openssl CLI."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.mark.integration
@pytest.mark.skipif(not HAVE_MOSQUITTO, reason="mosquitto is not installed")
class TestManagedBroker:
    async def test_files_are_private_and_hashed(
        self, broker: ManagedBroker, tmp_path: Path
    ) -> None:
        passwd = tmp_path / "broker" / "passwd"
        assert passwd.stat().st_mode & 0o777 == 0o600
        text = passwd.read_text()
        assert "hub:$7$" in text
        assert "hub-secret" not in text
        assert broker.url.startswith("mqtt://127.0.0.1:")
        assert broker.pid is not None
        assert broker.restarts == 0

    async def test_good_credentials_connect_bad_and_anonymous_do_not(
        self, broker: ManagedBroker
    ) -> None:
        async with client(broker, DOOR_IN):
            pass
        with pytest.raises(aiomqtt.MqttCodeError):
            async with client(broker, DOOR_IN, password="wrong"):
                pass
        with pytest.raises(aiomqtt.MqttCodeError):
            async with client(broker, None):
                pass

    async def test_device_events_reach_hub_but_foreign_topics_do_not(
        self, broker: ManagedBroker
    ) -> None:
        async with client(broker, HUB) as hub, client(broker, DOOR_IN) as dev:
            await hub.subscribe("store/s1/#", qos=1)
            # Denied publishes are dropped silently; the allowed one after it marks the
            # point by which the denied one would have arrived.
            await dev.publish("store/s1/device/door-out/event/opened", b"{}", qos=1)
            await dev.publish("store/s1/alerts", b"{}", qos=1)
            await dev.publish(f"{DEVICE}/event/opened", b"{}", qos=1)
            assert await next_topic(hub) == f"{DEVICE}/event/opened"

    async def test_device_gets_only_its_own_commands(self, broker: ManagedBroker) -> None:
        async with client(broker, HUB) as hub, client(broker, DOOR_IN) as dev:
            await dev.subscribe("store/s1/device/door-out/command/#", qos=1)
            await dev.subscribe(f"{DEVICE}/command/#", qos=1)
            await hub.publish("store/s1/device/door-out/command/open", b"{}", qos=1)
            await hub.publish(f"{DEVICE}/command/open", b"{}", qos=1)
            assert await next_topic(dev) == f"{DEVICE}/command/open"

    async def test_supervisor_restarts_a_killed_broker(
        self, broker: ManagedBroker, caplog: pytest.LogCaptureFixture
    ) -> None:
        pid = broker.process_pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        for _ in range(100):  # first backoff is 0.5 s
            if broker.restarts:
                break
            await asyncio.sleep(0.05)
        assert broker.restarts == 1
        assert broker.pid not in (None, pid)
        assert await connects(lambda: client(broker, HUB))
        assert "restarting in 0.5 s" in caplog.text

    async def test_update_users_reloads_without_restart(self, broker: ManagedBroker) -> None:
        door_out = BrokerUser("door-out", "out-secret", publish=("store/s1/device/door-out/#",))
        assert not await connects(lambda: client(broker, door_out), attempts=1)
        pid = broker.pid
        await broker.update_users([HUB, DOOR_IN, door_out])
        assert await connects(lambda: client(broker, door_out))
        assert broker.pid == pid
        assert broker.restarts == 0

    async def test_queued_qos1_message_survives_broker_restart(self, tmp_path: Path) -> None:
        port = free_port()
        async with ManagedBroker(data_dir=tmp_path, port=port, users=[HUB, DOOR_IN]) as b:
            async with client(b, HUB, session="hub-1") as hub:
                await hub.subscribe("store/s1/#", qos=1)
            async with client(b, DOOR_IN) as dev:
                await dev.publish(f"{DEVICE}/event/opened", b"{}", qos=1)
        async with (
            ManagedBroker(data_dir=tmp_path, port=port, users=[HUB, DOOR_IN]) as b,
            client(b, HUB, session="hub-1") as hub,
        ):
            assert await next_topic(hub) == f"{DEVICE}/event/opened"

    async def test_port_in_use_is_a_broker_error(self, tmp_path: Path) -> None:
        with socket.socket() as squatter:
            squatter.bind(("127.0.0.1", 0))
            squatter.listen()
            port = squatter.getsockname()[1]
            with pytest.raises(BrokerError, match="in use"):
                async with ManagedBroker(data_dir=tmp_path, port=port, users=[HUB]):
                    pass

    async def test_early_exit_reports_mosquitto_stderr(self, tmp_path: Path) -> None:
        port, tls_port = free_port(), free_port()
        while tls_port == port:  # (the same port twice: a plain listener would answer)
            tls_port = free_port()
        tls = TlsListener(tls_port, tmp_path / "missing.pem", tmp_path / "missing.key")
        with pytest.raises(
            BrokerError, match=r"(?s)exited with code \d+:\n.*Unable to load server certificate"
        ):
            async with ManagedBroker(data_dir=tmp_path, port=port, users=[HUB], tls=tls):
                pass

    async def test_a_tls_listener_on_the_plain_port_is_a_broker_error(self, tmp_path: Path) -> None:
        port = free_port()
        tls = TlsListener(port, tmp_path / "missing.pem", tmp_path / "missing.key")
        with pytest.raises(BrokerError, match="same port"):
            async with ManagedBroker(data_dir=tmp_path, port=port, users=[HUB], tls=tls):
                pass

    @pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
    async def test_tls_listener(self, tmp_path: Path, self_signed: tuple[Path, Path]) -> None:
        cert, key = self_signed
        port, tls_port = free_port(), free_port()
        while tls_port == port:
            tls_port = free_port()
        tls = TlsListener(tls_port, cert, key, cafile=cert)  # cafile: client certs optional
        async with ManagedBroker(data_dir=tmp_path, port=port, users=[HUB], tls=tls):
            context = ssl.create_default_context(cafile=str(cert))
            async with aiomqtt.Client(
                "127.0.0.1", tls_port, username="hub", password="hub-secret", tls_context=context
            ) as hub:
                await hub.subscribe("store/s1/#")
            with pytest.raises(aiomqtt.MqttError):
                async with aiomqtt.Client(
                    "127.0.0.1", tls_port, username="hub", password="hub-secret", timeout=1
                ):
                    pass
