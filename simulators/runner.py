"""``storehub simulate`` / ``storehub demo``: one simulator per configured device, playing
the ``random`` scenario or a scenario file, until ``duration`` is up or it is cancelled."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Coroutine, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from rich.console import Console
from rich.live import Live
from rich.text import Text

from devices.base import DeviceConfig
from hub.config import HubConfig
from simulators.base import DeviceSimulator, SimulatorError, endpoint_for
from simulators.randomized import run_random
from simulators.registry import simulator_for
from simulators.scenario import Scenario, load_scenario, play

log = logging.getLogger("storehub.simulators")

#: How long each simulator keeps trying to reach the broker at start-up.
CONNECT_RETRY_S = 10.0


async def run_simulation(
    cfg: HubConfig,
    *,
    scenario: str,
    duration: float | None,
    rate: float,
    seed: int | None,
    only: list[str] | None,
    console: Console | None,
    hub: object | None = None,
) -> None:
    """Simulate the store's devices (or ``only`` those) against the hub's broker.

    ``scenario`` is ``"random"`` or a scenario file / built-in scenario name.
    With ``duration`` it stops after that many seconds (a scenario file then
    stays connected until then); without, the random scenario runs until
    cancelled and a scenario file until its last step is done. ``hub``, a
    running :class:`hub.hub.Hub`, tells the port of its managed broker. The
    simulators always say goodbye cleanly (retained ``{"online": false}``).
    """
    devices = select_devices(cfg, only)
    script = None if scenario == "random" else load_scenario(scenario)
    port = _managed_port(cfg, hub)
    master = random.Random(seed)
    sims: dict[str, DeviceSimulator[Any]] = {
        d.id: simulator_for(
            d, cfg.store_id, endpoint_for(cfg, d.id, port=port), seed=master.getrandbits(32)
        )
        for d in devices
    }
    if script is not None:
        script.check(sims)
    async with contextlib.AsyncExitStack() as stack:
        for sim in sims.values():
            stack.push_async_callback(sim.close)
        results = await asyncio.gather(
            *(sim.connect(retry_for=CONNECT_RETRY_S) for sim in sims.values()),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result
        log.info("simulating %d devices: %s", len(sims), ", ".join(sims))
        if console is not None:
            stack.enter_context(_progress(console, sims, scenario))
        work = (
            _play_then_idle(script, sims, duration)
            if script is not None
            else run_random(list(sims.values()), rate=rate, seed=master.getrandbits(32))
        )
        await _run_for(work, duration)
    if console is not None:
        total = sum(s.events_sent for s in sims.values())
        console.print(f"[green]simulation done[/]: {total} events from {len(sims)} devices")


def select_devices(cfg: HubConfig, only: list[str] | None) -> list[DeviceConfig]:
    devices = list(cfg.store.devices)
    if only:
        known = {d.id for d in devices}
        unknown = [d for d in only if d not in known]
        if unknown:
            raise SimulatorError(
                f"no device {', '.join(map(repr, unknown))} in {cfg.source} "
                f"(it has: {', '.join(sorted(known)) or 'none'})"
            )
        devices = [d for d in devices if d.id in only]
    if not devices:
        raise SimulatorError(f"{cfg.source} has no devices to simulate")
    return devices


def _managed_port(cfg: HubConfig, hub: object | None) -> int | None:
    """The port of a running hub's managed broker (its config may say ``port = 0``)."""
    if cfg.broker_url is not None or hub is None:
        return None
    url = getattr(getattr(hub, "broker", None), "url", None)
    return urlsplit(url).port if isinstance(url, str) else None


async def _play_then_idle(
    script: Scenario, sims: Mapping[str, DeviceSimulator[Any]], duration: float | None
) -> None:
    await play(script, sims)
    if duration is not None:
        await asyncio.Event().wait()  # stay online until the duration is up


async def _run_for(work: Coroutine[Any, Any, None], duration: float | None) -> None:
    task = asyncio.ensure_future(work)
    try:
        await asyncio.wait({task}, timeout=duration)
    finally:
        if not task.done():
            task.cancel()
            await asyncio.wait({task})
    if not task.cancelled():
        task.result()  # the work's own error, if it failed


@contextlib.contextmanager
def _progress(
    console: Console, sims: Mapping[str, DeviceSimulator[Any]], scenario: str
) -> Iterator[None]:
    """A live line: events sent per device, and who is online."""
    loop = asyncio.get_running_loop()
    start = loop.time()

    def line() -> Text:
        text = Text.assemble(
            ("simulating ", "bold"), (scenario, "cyan"), f"  {loop.time() - start:5.0f}s "
        )
        for sim in sims.values():
            text.append("  ")
            text.append("● " if sim.connected else "○ ", "green" if sim.connected else "red")
            text.append(f"{sim.device_id} {sim.events_sent}")
        return text

    with Live(
        console=console,
        get_renderable=line,
        refresh_per_second=4,
        transient=False,
        redirect_stdout=False,
        redirect_stderr=False,
    ):
        yield
    if not console.is_terminal:
        console.line()  # Live leaves its last line open when not on a terminal
