"""The price-tag pool: render what changed, once, off the event loop, in parallel.

- A label's *content key* (:meth:`RenderJob.key`) is computed without drawing;
  the service skips a label whose key it already shows.
- Jobs with equal keys (the same item on several labels of one panel type) are
  rendered once.
- Rendering runs in a process pool (Pillow drawing holds the GIL), in chunks so
  that inter-process traffic stays small next to the drawing; ``workers=0``
  renders in a thread instead (tests, tiny stores).
- Recent images stay in an LRU cache keyed by content key, so a retry or a
  label coming back blank is not re-rendered.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor

from hub.errors import ignore_sigint
from hub.esl.content import Rendered, RenderJob
from hub.esl.fonts import font_report
from hub.esl.render import render

CHUNK = 32


def render_chunk(jobs: Sequence[RenderJob]) -> list[Rendered]:
    """Runs in a worker: render a chunk of jobs."""
    return [render(job) for job in jobs]


def _warm() -> str:
    # Importing Pillow and opening fonts costs ~100 ms: pay it at start, not on the
    # first HQ batch.
    return font_report().identity


class RenderPool:
    def __init__(self, workers: int | None = None, *, cache_size: int = 4096) -> None:
        n = (os.cpu_count() or 1) if workers is None else workers
        self.workers = n
        self._executor: Executor
        if n > 0:
            # spawn: the hub has threads (journal writer) that a forked child must not inherit.
            self._executor = ProcessPoolExecutor(
                n, mp_context=multiprocessing.get_context("spawn"), initializer=ignore_sigint
            )
        else:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="esl-render")
        self._cache: OrderedDict[str, Rendered] = OrderedDict()
        self._cache_size = cache_size
        self.fonts = font_report().identity
        self.rendered = 0
        self.cache_hits = 0

    def key(self, job: RenderJob) -> str:
        return job.key(self.fonts)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        await asyncio.gather(
            *(loop.run_in_executor(self._executor, _warm) for _ in range(max(1, self.workers)))
        )

    def cached(self, key: str) -> Rendered | None:
        found = self._cache.get(key)
        if found is not None:
            self._cache.move_to_end(key)
        return found

    async def render(
        self, jobs: Sequence[RenderJob], on_done: Callable[[list[Rendered]], None] | None = None
    ) -> dict[str, Rendered]:
        """Render ``jobs`` (deduplicated by key); returns key → image.

        ``on_done`` is called on the event loop as each chunk finishes, so progress
        can be reported while a big batch renders."""
        out: dict[str, Rendered] = {}
        todo: dict[str, RenderJob] = {}
        for job in jobs:
            key = self.key(job)
            hit = self.cached(key)
            if hit is not None:
                out[key] = hit
                self.cache_hits += 1
            else:
                todo.setdefault(key, job)
        if out and on_done is not None:
            on_done(list(out.values()))
        pending = list(todo.values())
        loop = asyncio.get_running_loop()
        chunk = max(1, min(CHUNK, len(pending) // max(1, self.workers * 4) or 1))
        futures = [
            loop.run_in_executor(self._executor, render_chunk, pending[i : i + chunk])
            for i in range(0, len(pending), chunk)
        ]
        for future in asyncio.as_completed(futures):
            done = await future
            for image in done:
                out[image.key] = image
                self._remember(image)
            self.rendered += len(done)
            if on_done is not None:
                on_done(done)
        return out

    def _remember(self, image: Rendered) -> None:
        self._cache[image.key] = image
        self._cache.move_to_end(image.key)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
