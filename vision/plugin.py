"""The vision plugin (``vision.plugin:plugin``): what makes cameras see in a running hub.

- provides a :class:`VisionService` (faces, known plates, item detector, plate reader);
- gives every ``camera`` that the hub reads frames from its analyser, run in a small
  thread pool shared by all cameras (inference never runs on the event loop);
- turns other systems' raw recognitions (``plate_read``, ``face_recognised`` from
  Frigate or an AI camera) into ``plate_seen`` / ``member_seen`` on the same device;
- purges face embeddings past their retention every hour;
- exports per-camera frame counters (read, analysed, dropped) as Prometheus metrics.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from devices.camera.config import CameraConfig
from devices.camera.driver import Driver as CameraDriver
from hub.events import BusEvent, DeviceEvent

if TYPE_CHECKING:
    from hub.hub import Hub
    from vision.service import VisionService

log = logging.getLogger("storehub.vision")

RAW = frozenset({"plate_read", "face_recognised"})
PURGE_EVERY_S = 3600.0


class _CameraMetrics(Collector):
    """Reads the cameras' pump counters at scrape time (no cost per frame)."""

    def __init__(self, cameras: dict[str, CameraDriver]) -> None:
        self.cameras = cameras

    def collect(self) -> Iterable[Any]:
        frames = CounterMetricFamily(
            "storehub_vision_frames", "Camera frames by outcome", labels=["camera", "outcome"]
        )
        latency = GaugeMetricFamily(
            "storehub_vision_analysis_seconds", "Last frame's analysis time", labels=["camera"]
        )
        for cam, drv in self.cameras.items():
            st = drv.stats
            for outcome, n in (("read", st.read), ("analysed", st.analysed),
                               ("dropped", st.dropped), ("error", st.errors)):  # fmt: skip
                frames.add_metric([cam, outcome], n)
            latency.add_metric([cam], st.last_seconds)
        yield frames
        yield latency


def _is_raw(event: BusEvent) -> bool:
    return isinstance(event, DeviceEvent) and event.name in RAW


async def plugin(hub: Hub) -> None:
    try:
        # The models' packages are the optional "vision" extra: a hub without them
        # runs, its cameras idle, and this says why once.
        from vision.service import VisionService, VisionSettings
    except ModuleNotFoundError as exc:
        log.warning("vision: %s is not installed (pip install 'storehub[vision]'); "
                    "cameras will not be analysed", exc.name)  # fmt: skip
        return
    service = VisionService(
        hub.journal, hub.config.data_dir, settings=VisionSettings(), clock=hub.clock
    )
    await service.load()
    hub.provide(service)
    executor = ThreadPoolExecutor(service.settings.workers, thread_name_prefix="vision")
    cameras: dict[str, CameraDriver] = {}
    base = hub.config.source.parent
    for device in hub.registry:
        driver = device.driver
        if isinstance(driver, CameraDriver) and isinstance(device.config, CameraConfig):
            cameras[device.id] = driver
            if not device.config.onboard_ai:
                driver.attach(service.analyzer_for(device.config), executor=executor, base=base)
    collector = _CameraMetrics(cameras)
    with contextlib.suppress(ValueError):  # a second hub in the same process
        hub.metrics.registry.register(collector)
    raw = hub.bus.subscribe("vision", maxsize=1000, accept=_is_raw)
    log.info("vision: %d camera(s), %d face embedding(s), %d known plate(s)",
             len(cameras), service.faces.enrolled, len(service.plates))  # fmt: skip
    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(_resolve(hub, service, raw))
            tg.create_task(_purge(service))
    finally:
        hub.bus.unsubscribe(raw)
        with contextlib.suppress(KeyError):
            hub.metrics.registry.unregister(collector)
        executor.shutdown(wait=False, cancel_futures=True)


async def _resolve(hub: Hub, service: VisionService, raw: Any) -> None:
    async for event in raw:
        assert isinstance(event, DeviceEvent)
        resolved = service.resolve(event)
        if resolved is not None:
            await hub.emit(event.device, *resolved)


async def _purge(service: VisionService) -> None:
    while True:
        try:
            deleted = await service.faces.purge()
            if deleted:
                log.info("vision: %d face embedding(s) past retention deleted", deleted)
        except Exception:
            log.exception("vision: retention purge failed")
        await asyncio.sleep(PURGE_EVERY_S)
