"""Fixtures shared by the whole suite."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import os
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.journal import Journal

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "configs" / "demo.toml"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Mosquitto:
    """A throwaway external broker on a free loopback port (anonymous, persistent)."""

    def __init__(self, workdir: Path) -> None:
        self.port = _free_port()
        self.dir = workdir
        self.proc: subprocess.Popen[bytes] | None = None
        exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.exe = exe
        conf = workdir / "mosquitto.conf"
        conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
            f"persistence true\npersistence_location {workdir}/\n"
            "max_inflight_messages 1000\nmax_queued_messages 100000\n"
            "autosave_interval 1\n" + (f"user {getpass.getuser()}\n" if os.geteuid() == 0 else "")
            # As root Mosquitto switches to the 'mosquitto' user, which cannot
            # write its persistence file into our temp dir.
        )
        self.conf = conf

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.exe, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    if not (shutil.which("mosquitto") or Path("/usr/sbin/mosquitto").exists()):
        pytest.fail("mosquitto is not installed (apt-get install mosquitto)")
    broker_dir = tmp_path / "broker"
    broker_dir.mkdir()
    m = Mosquitto(broker_dir)
    m.start()
    yield m
    m.stop()


async def eventually(predicate: object, timeout: float = 10.0, interval: float = 0.05) -> None:
    """Wait until ``predicate()`` is truthy (awaiting it if it returns an awaitable)."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()  # type: ignore[operator]
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


@contextlib.asynccontextmanager
async def running_journal(path: Path, **options: Any) -> AsyncIterator[Journal]:
    """A journal on a real SQLite file with its writer task running."""
    j = Journal(path, **options)
    await j.open()
    task = asyncio.create_task(j.run())
    try:
        yield j
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        j.close()


@pytest.fixture
async def journal(tmp_path: Path) -> AsyncIterator[Journal]:
    async with running_journal(tmp_path / "hub.db") as j:
        yield j
