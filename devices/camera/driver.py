"""The ``camera`` driver: reads frames, hands them to the analyser the vision plugin attaches.

A camera with ``onboard_ai`` speaks the contract (its events arrive over MQTT and go
through :data:`CODEC`); the driver does nothing else for it.  Otherwise ``run()``
opens the source and pumps frames (``devices/camera/pump.py``) once the vision
plugin (``vision.plugin``) has attached an analyser: recognising items, faces and
plates needs the store's models, consent records and known plates, which live in
hub services a driver does not reach.  Without the vision plugin the camera idles.
"""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path
from typing import TYPE_CHECKING

from devices.base import Driver as BaseDriver
from devices.camera.codec import CODEC
from devices.camera.config import CameraConfig
from devices.camera.pump import Analyzer, PumpStats, pump
from devices.camera.sources import open_source

if TYPE_CHECKING:
    from concurrent.futures import Executor

    from hub.context import DriverContext


class Driver(BaseDriver[CameraConfig]):
    kind = "camera"
    config_model = CameraConfig
    codec = CODEC

    def __init__(self, config: CameraConfig) -> None:
        super().__init__(config)
        self.stats = PumpStats()
        self._analyzer: Analyzer | None = None
        self._executor: Executor | None = None
        self._base: Path | None = None
        self._attached = asyncio.Event()

    def attach(
        self, analyzer: Analyzer, *, executor: Executor | None = None, base: Path | None = None
    ) -> None:
        """Give the camera its analyser (called by the vision plugin); ``base`` resolves a
        relative file/directory source."""
        self._analyzer, self._executor, self._base = analyzer, executor, base
        self._attached.set()

    async def run(self, ctx: DriverContext) -> None:
        cfg = self.config
        if cfg.onboard_ai or cfg.source is None:
            return
        await self._attached.wait()
        assert self._analyzer is not None
        scheme = cfg.source.partition("://")[0].lower() if "://" in cfg.source else ""
        opener = functools.partial(
            open_source, cfg.source, fps=cfg.fps, loop=cfg.loop, timeout=cfg.timeout_s,
            base=self._base,
        )  # fmt: skip
        stats = await pump(
            opener,
            self._analyzer,
            ctx.emit,
            camera=cfg.id,
            zone=cfg.zone,
            fps=cfg.fps,
            queue=cfg.queue,
            executor=self._executor,
            stats=self.stats,
            live=scheme in ("rtsp", "rtsps", "rtmp", "http", "https"),
            log=ctx.log,
        )
        ctx.log.info(
            "camera %s: source ended after %d frames (%d analysed, %d dropped)",
            cfg.id, stats.read, stats.analysed, stats.dropped,
        )  # fmt: skip
