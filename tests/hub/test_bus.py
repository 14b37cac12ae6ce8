from __future__ import annotations

import asyncio

from hub.bus import Bus
from hub.events import BusEvent, PresenceChanged


def presence(device: str) -> PresenceChanged:
    return PresenceChanged(
        device=device, kind="door", zone=None, online=True, ts=1.0, reason="birth"
    )


async def test_fan_out_and_filter() -> None:
    bus = Bus()
    everything = bus.subscribe("all")
    only_b = bus.subscribe("b", accept=lambda e: isinstance(e, PresenceChanged) and e.device == "b")
    await bus.publish(presence("a"))
    await bus.publish(presence("b"))
    assert [e.device for e in [await everything.get(), await everything.get()]] == ["a", "b"]  # type: ignore[attr-defined]
    got: BusEvent = await only_b.get()
    assert isinstance(got, PresenceChanged) and got.device == "b"
    assert only_b.get_nowait() is None


async def test_block_policy_applies_back_pressure() -> None:
    bus = Bus()
    sub = bus.subscribe("slow", maxsize=2)
    await bus.publish(presence("1"))
    await bus.publish(presence("2"))
    third = asyncio.create_task(bus.publish(presence("3")))
    await asyncio.sleep(0.01)
    assert not third.done()  # publisher waits for the slow consumer
    await sub.get()
    await asyncio.wait_for(third, 1)
    assert sub.depth == 2


async def test_drop_oldest_never_blocks() -> None:
    bus = Bus()
    sub = bus.subscribe("ui", maxsize=2, policy="drop_oldest")
    for i in range(5):
        await bus.publish(presence(str(i)))
    assert sub.dropped == 3
    first = await sub.get()
    assert isinstance(first, PresenceChanged) and first.device == "3"
    sub.close()
    assert sub not in bus.subscriptions
