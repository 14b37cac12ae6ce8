"""SIGKILL at random moments during upload, many times: nothing is lost, nothing is
applied twice in the cloud."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from simulators.cloud import CloudServer, Fault
from tests.conftest import REPO
from tests.hub.sync.conftest import assert_exactly_once, pending

KILLS = 12


def start_worker(data: Path, url: str, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.hub.sync.crash_worker", str(data), url, *extra],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def go(worker: subprocess.Popen[str]) -> None:
    assert worker.stdin is not None
    worker.stdin.write("go\n")
    worker.stdin.flush()


def test_sigkill_during_upload_loses_nothing_and_duplicates_nothing(
    tmp_path: Path, cloud: CloudServer
) -> None:
    rng = random.Random(7)
    data = tmp_path / "data"
    data.mkdir()
    # Some answers are also lost on the way back, so kills meet re-sends too.
    cloud.app.faults.add(Fault(mode="drop", times=None, rate=0.05))
    t0 = time.monotonic()
    upcoming = start_worker(data, cloud.url)
    for i in range(KILLS):
        worker = upcoming
        go(worker)
        assert worker.stdout is not None
        assert worker.stdout.readline().strip() == "ready"
        # The next one imports while this one works; it opens the database only on "go".
        upcoming = start_worker(data, cloud.url, *(["--drain"] if i == KILLS - 1 else []))
        time.sleep(rng.uniform(0.05, 0.6))
        os.kill(worker.pid, signal.SIGKILL)
        assert worker.wait(10) == -signal.SIGKILL
        for pipe in (worker.stdin, worker.stdout):
            assert pipe is not None
            pipe.close()
    cloud.app.faults.clear()
    before = pending(data / "hub.db")
    out, _ = upcoming.communicate("go\n", timeout=90)
    drain = upcoming
    assert drain.returncode == 0, out
    assert_exactly_once(cloud, data / "hub.db")
    stats = cloud.store.stats()
    print(
        f"{KILLS} kills in {time.monotonic() - t0:.1f}s; {stats.records} records, "
        f"{before} pending before the drain, {stats.duplicates_received} re-sends deduped"
    )
    assert stats.records > 300  # enough traffic that kills landed mid-upload
