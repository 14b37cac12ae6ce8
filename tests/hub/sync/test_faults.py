"""Every failure mode of the reference backend, with sales flowing: the cloud still
ends up with every row exactly once, in order per stream."""

from __future__ import annotations

import asyncio

import pytest

from hub.journal import Journal
from hub.sync import LogAlerts
from simulators.cloud import CloudServer, Fault
from tests.conftest import eventually
from tests.hub.sync.conftest import assert_exactly_once, make_sync, pending, write

FAULTS = {
    "error": Fault(mode="error", times=4),
    "error-500": Fault(mode="error", status=500, times=2),
    "slow": Fault(mode="slow", delay_s=0.3, times=3),
    "timeout": Fault(mode="timeout", delay_s=1.2, times=3),
    "drop": Fault(mode="drop", times=3),
    "forget": Fault(mode="forget", times=3),
}


@pytest.mark.parametrize("name", list(FAULTS))
async def test_failure_mode(name: str, journal: Journal, cloud: CloudServer) -> None:
    fault = FAULTS[name]
    cloud.app.faults.add(fault)
    alerts = LogAlerts()
    # The client gives up after 0.5 s: the "timeout" fault holds answers for 1.2 s.  No
    # periodic reconciling here, so what is found is found by dedupe and by 409 gaps.
    async with make_sync(
        journal,
        cloud.url,
        alerts=alerts,
        batch_rows=20,
        timeout_s=0.5,
        reconcile_s=600,
        pulls=False,
    ) as sync:
        runner = asyncio.create_task(sync.run())
        for chunk in range(10):  # sales keep coming while the cloud misbehaves
            await write(journal, "sales", 15, start=chunk * 15)
            await write(journal, "inventory", 5, start=chunk * 5)
            await asyncio.sleep(0.05)
        await journal.flush()
        await eventually(lambda: cloud.app.faults.fired[fault.mode] == fault.times, timeout=20)
        await eventually(
            lambda: pending(journal.path) == 0 and cloud.store.stats().records == 200, timeout=30
        )
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
    assert_exactly_once(cloud, journal.path)
    stats = cloud.store.stats()
    if fault.mode in ("timeout", "drop"):
        # The cloud had committed what the store never heard back about: re-sent, deduped.
        assert stats.duplicates_received > 0
    if fault.mode == "forget":
        # Acknowledged, then lost: found by the next batch's prev (409) or by reconciling.
        assert stats.forgotten_batches >= 1 and stats.gaps >= 1
        assert sum(sync.metrics.rewound.labels(s)._value.get() for s in ("sales", "inventory")) > 0
        assert "sync_cloud_rewind" in alerts.kinds()


async def test_forgotten_tail_is_found_by_reconciling(journal: Journal, cloud: CloudServer) -> None:
    """The very last batch is forgotten: no later batch will hit the gap, the periodic
    comparison of heads must."""
    await write(journal, "sales", 10)
    await journal.flush()
    cloud.app.faults.add(Fault(mode="forget"))
    async with make_sync(journal, cloud.url, reconcile_s=0.2, pulls=False) as sync:
        runner = asyncio.create_task(sync.outbox.run())
        await eventually(lambda: cloud.app.faults.fired["forget"] == 1)
        await eventually(lambda: cloud.store.stats().records == 10, timeout=10)
        await eventually(lambda: pending(journal.path) == 0)
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
    assert_exactly_once(cloud, journal.path)
    assert cloud.store.stats().gaps == 0  # nothing came after: reconciliation found it


async def test_random_chaos(journal: Journal, cloud: CloudServer) -> None:
    for mode in ("error", "drop", "timeout", "forget"):
        cloud.app.faults.add(Fault(mode=mode, times=None, rate=0.08, delay_s=0.6, target="any"))
    async with make_sync(
        journal, cloud.url, batch_rows=25, timeout_s=0.3, reconcile_s=0.3, pulls=False
    ) as sync:
        runner = asyncio.create_task(sync.run())
        for chunk in range(20):
            for stream in ("sales", "alerts", "traffic"):
                await write(journal, stream, 10, start=chunk * 10)
            await asyncio.sleep(0.02)
        await journal.flush()
        await eventually(lambda: pending(journal.path) == 0, timeout=60)
        cloud.app.faults.clear()
        await eventually(lambda: cloud.store.stats().records == 600, timeout=30)
        await eventually(lambda: pending(journal.path) == 0)
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
    assert_exactly_once(cloud, journal.path)
