"""The ingest bench's load (bench/ingest.py): a throwaway Mosquitto, the persistent
sessions, the spawned child processes every part runs in, and the publishers."""

from __future__ import annotations

import multiprocessing as mp
import resource
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event as MpEvent
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from pydantic import BaseModel, ConfigDict

STORE = "s1"
INFLIGHT = 1000  # the broker's max_inflight_messages, and each publisher's window
SEQ_STRIDE = 10_000_000  # phase k numbers its events from k * SEQ_STRIDE
_mp = mp.get_context("spawn")


class BenchError(RuntimeError):
    """A round could not complete: a child process failed or a wait timed out."""


# -- broker and sessions ------------------------------------------------------


def session(port: int, client_id: str, topic: str | None, timeout: float = 10) -> None:
    """``topic``: leave a persistent session subscribed to it; ``None``: wipe ``client_id``'s."""
    done = threading.Event()
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=topic is None
    )
    if topic is None:
        client.on_connect = lambda *_: done.set()
    else:
        client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
        client.on_subscribe = lambda *_: done.set()
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.connect("127.0.0.1", port, keepalive=30)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise BenchError(f"mosquitto on port {port} does not answer") from None
            time.sleep(0.05)
    client.loop_start()
    try:
        if not done.wait(max(deadline - time.monotonic(), 1)):
            raise BenchError(f"session {client_id}: no CONNACK/SUBACK")
    finally:
        client.disconnect()
        client.loop_stop()


# -- child processes ------------------------------------------------------------


@contextmanager
def child(target: Callable[..., None], *args: Any) -> Iterator[Connection]:
    """Run ``target(*args, conn)`` in a spawned process; yields our end of the pipe."""
    ours, theirs = _mp.Pipe()
    proc = _mp.Process(target=target, args=(*args, theirs), daemon=True)
    proc.start()
    theirs.close()  # so that a child that dies reads as EOF, not as silence
    try:
        yield ours
    finally:
        proc.join(10)
        if proc.is_alive():
            proc.terminate()


def recv(conn: Connection, timeout: float, what: str) -> Any:
    if not conn.poll(timeout):
        raise BenchError(f"{what}: no answer within {timeout:.0f}s")
    try:
        return conn.recv()
    except EOFError:
        raise BenchError(f"{what}: the process died (its traceback is above)") from None


def rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def peak_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def cpu_s() -> float:
    """CPU seconds of this process so far, all threads, user + system."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# -- publishers ------------------------------------------------------------------


def _passage(ts: float, seq: int) -> bytes:
    return b'{"ts":%.3f,"seq":%d,"direction":"in"}' % (ts, seq)


def _publisher(
    port: int,
    index: int,
    quota: dict[str, int] | None,
    devices: list[str],
    seq_base: int,
    rate: float,
    stop: MpEvent,
    conn: Connection,
) -> None:
    """Publish each device's ``quota`` (pre-serialised), or round-robin until ``stop``
    (at ``rate`` events/s if it is not 0).

    Sends ``t_first`` when it starts, then ``(counts, t_first, t_sent, t_acked)``.
    A semaphore keeps at most ``INFLIGHT`` messages unacknowledged.
    """
    window = threading.Semaphore(INFLIGHT)
    connected = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{index}")
    client.max_inflight_messages_set(INFLIGHT)
    client.max_queued_messages_set(0)
    client.on_connect = lambda *_: connected.set()
    client.on_publish = lambda *_: window.release()
    client.connect("127.0.0.1", port, keepalive=60)
    client.loop_start()
    if not connected.wait(10):
        raise BenchError(f"publisher {index} could not connect")
    names = [f"store/{STORE}/device/{d}/event/passage" for d in devices]
    counts = [0] * len(devices)
    if quota is not None:
        now, most = time.time(), max(quota.values(), default=0)
        ready = [
            (names[i], _passage(now, seq_base + k))
            for k in range(most)
            for i, d in enumerate(devices)
            if k < quota[d]
        ]
        t_first = time.monotonic()
        conn.send(t_first)
        for name, payload in ready:
            window.acquire()
            client.publish(name, payload, qos=1)
        counts = [quota[d] for d in devices]
    else:
        t_first = time.monotonic()
        conn.send(t_first)
        sent = 0
        while not stop.is_set():
            for i, name in enumerate(names):
                window.acquire()
                client.publish(name, _passage(time.time(), seq_base + counts[i]), qos=1)
                counts[i] += 1
            sent += len(names)
            if rate and (ahead := t_first + sent / rate - time.monotonic()) > 0:
                time.sleep(ahead)
    t_sent = time.monotonic()
    for _ in range(INFLIGHT):  # the whole window is back: every PUBACK is in
        window.acquire()
    t_acked = time.monotonic()
    client.disconnect()
    client.loop_stop()
    conn.send((dict(zip(devices, counts, strict=True)), t_first, t_sent, t_acked))


class Published(BaseModel):
    model_config = ConfigDict(frozen=True)

    counts: dict[str, int]
    first: float  # the first publisher started
    last_start: float  # the last publisher started
    stopped: float  # the first publisher stopped sending
    acked: float  # the last PUBACK came back

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def publish(
    port: int,
    devices: list[str],
    publishers: int,
    phase: int,
    events: int | None,
    until: Callable[[], None] = lambda: None,
    rate: float = 0.0,
) -> Published:
    """N events spread evenly over the devices (device j goes to publisher j mod P), or —
    ``events=None`` — ``rate`` events/s (0: all they can) until ``until()`` returns."""
    p = min(publishers, len(devices))
    stop = _mp.Event()
    quota: dict[str, int] | None = None
    if events is not None:
        per, extra = divmod(events, len(devices))
        quota = {d: per + (j < extra) for j, d in enumerate(devices)}
    with ExitStack() as stack:
        conns = [
            stack.enter_context(
                child(_publisher, port, i, quota, devices[i::p], phase * SEQ_STRIDE, rate / p, stop)
            )
            for i in range(p)
        ]
        starts = [recv(c, 120, "publisher start") for c in conns]
        until()
        stop.set()
        results = [recv(c, 60 + (events or 0) / 500, "publisher") for c in conns]
    counts: dict[str, int] = {}
    for c, *_ in results:
        counts.update(c)
    return Published(
        counts=counts,
        first=min(starts),
        last_start=max(starts),
        stopped=min(r[2] for r in results),
        acked=max(r[3] for r in results),
    )
