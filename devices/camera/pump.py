"""Frames from a source to an analyser and its events to the hub, never on the event loop.

    source ─(thread: read + sample at fps)─▶ bounded queue ─(executor: analyse)─▶ emit
                                             └─ full: the oldest frame is dropped, counted

Reading and analysing both run in threads (OpenCV, ONNX Runtime and dlib release the
GIL while they work); the event loop only moves frames between them.  When the
analyser is slower than the camera the queue fills and the *oldest* waiting frame is
dropped, so events describe what the camera sees now, not what it saw a minute ago.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from pydantic import BaseModel

from devices.camera.sources import FrameSource, Image, SourceError, Ticker

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Frame:
    image: Image  # BGR, as OpenCV decodes it
    ts: float
    index: int
    camera: str
    zone: str | None


class Analyzer(Protocol):
    """Blocking: called in a worker thread with one frame; returns the events it saw."""

    def __call__(self, frame: Frame) -> Sequence[tuple[str, BaseModel]]: ...


@dataclass(slots=True)
class PumpStats:
    read: int = 0
    analysed: int = 0
    dropped: int = 0
    errors: int = 0
    events: int = 0
    reconnects: int = 0
    #: Seconds the last analysis took.
    last_seconds: float = 0.0
    seconds: list[float] = field(default_factory=list, repr=False)


class _DropOldest:
    """A bounded frame queue that drops the oldest frame instead of blocking."""

    def __init__(self, size: int) -> None:
        self.items: deque[Frame] = deque()
        self.size = size
        self.ready = asyncio.Event()
        self.closed = False

    def put(self, frame: Frame) -> bool:
        dropped = len(self.items) >= self.size
        if dropped:
            self.items.popleft()
        self.items.append(frame)
        self.ready.set()
        return dropped

    async def get(self) -> Frame | None:
        while not self.items:
            if self.closed:
                return None
            self.ready.clear()
            await self.ready.wait()
        return self.items.popleft()

    def close(self) -> None:
        self.closed = True
        self.ready.set()


async def pump(
    open_source: Callable[[], FrameSource],
    analyzer: Analyzer,
    emit: Callable[[str, BaseModel], Awaitable[None]],
    *,
    camera: str,
    zone: str | None,
    fps: float,
    queue: int,
    executor: Executor | None = None,
    stats: PumpStats | None = None,
    live: bool = False,
    clock: Callable[[], float] = time.time,
    log: logging.Logger | None = None,
) -> PumpStats:
    """Run until a finite source ends (then drain the queue) or until cancelled.

    ``live`` sources (streams, snapshot URLs) are reopened with back-off when they fail;
    a file or directory that cannot be read ends the pump.
    """
    stats = stats if stats is not None else PumpStats()
    log = log or logging.getLogger(f"storehub.camera.{camera}")
    frames = _DropOldest(queue)
    loop = asyncio.get_running_loop()

    async def analyse() -> None:
        while (frame := await frames.get()) is not None:
            started = time.perf_counter()
            try:
                events = await loop.run_in_executor(executor, analyzer, frame)
            except Exception:
                # One bad frame (a corrupt JPEG, a model hiccup) must not stop the camera.
                stats.errors += 1
                log.exception("analysis of frame %d failed", frame.index)
                continue
            finally:
                stats.last_seconds = time.perf_counter() - started
            stats.analysed += 1
            stats.seconds.append(stats.last_seconds)
            del stats.seconds[:-256]  # a window for the p50/p95 the CLI shows
            for name, payload in events:
                stats.events += 1
                await emit(name, payload)

    # Open, read and close run in one thread of their own, in order: a read goes on
    # after its awaiting task is cancelled, and closing a capture under a read in
    # another thread can crash the decoder.
    reader = ThreadPoolExecutor(1, thread_name_prefix=f"camera-{camera}")

    async def in_reader(fn: Callable[[], T]) -> T:
        return await loop.run_in_executor(reader, fn)

    async def read() -> None:
        backoff = 0.5
        ticker = Ticker(fps)
        source: FrameSource | None = None
        try:
            while True:
                try:
                    if source is None:
                        source = await in_reader(open_source)
                    image = await in_reader(source.read)
                except SourceError as exc:
                    if not live:
                        log.error("camera %s: %s", camera, exc)
                        return
                    if source is not None:
                        await in_reader(source.close)
                        source = None
                    stats.reconnects += 1
                    log.warning("camera %s: %s; retrying in %.1f s", camera, exc, backoff)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 30.0)
                    continue
                backoff = 0.5
                if image is None:
                    return
                frame = Frame(image, clock(), stats.read, camera, zone)
                stats.read += 1
                if frames.put(frame):
                    stats.dropped += 1
                await asyncio.sleep(ticker.delay())
        finally:
            frames.close()
            if source is not None:
                await in_reader(source.close)

    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(read())
            tg.create_task(analyse())
    finally:
        reader.shutdown(wait=False)
    return stats
