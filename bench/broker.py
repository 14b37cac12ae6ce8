"""The throwaway Mosquitto the load benchmarks publish through (ingest, rfid, rules)."""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hub.broker import free_port


def mosquitto_exe() -> str:
    return shutil.which("mosquitto") or "/usr/sbin/mosquitto"


@contextmanager
def mosquitto(workdir: Path, *, inflight: int = 1000, queued: int = 1_000_000) -> Iterator[int]:
    """An anonymous Mosquitto on a free loopback port, without persistence, that lets
    ``inflight`` QoS 1 messages per client go unacknowledged and queues ``queued`` for
    a client that is away; yields the port once it takes connections."""
    port = free_port()
    conf = workdir / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        f"max_inflight_messages {inflight}\nmax_queued_messages {queued}\n"
        # As root Mosquitto would otherwise switch to the 'mosquitto' user.
        + (f"user {getpass.getuser()}\n" if os.geteuid() == 0 else "")
    )
    proc = subprocess.Popen(
        [mosquitto_exe(), "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        _wait_port(port)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


def _wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"mosquitto on port {port} does not answer")
