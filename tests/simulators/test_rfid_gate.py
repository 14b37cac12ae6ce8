"""simulators.rfid_gate: tags walking through the gate, with and without noise."""

from __future__ import annotations

import statistics

import pytest

from devices.rfid_gate.codec import CODEC, Reads, TagRead
from devices.rfid_gate.config import RfidGateConfig
from devices.rfid_gate.epc import decode_epc
from devices.rfid_gate.zebra import decode_zebra
from simulators.catalog import PRODUCTS, tag_epcs
from simulators.rfid_gate import GateNoise, RfidGateSimulator
from tests.simulators.conftest import STORE, Broker, Watcher, demo_device, wait_reply

GATE = demo_device("gate-out", RfidGateConfig)  # antenna 1 inside, 2 outside
INSIDE, OUTSIDE = 1, 2


def gate(broker: Broker, seed: int = 7, config: RfidGateConfig = GATE) -> RfidGateSimulator:
    return RfidGateSimulator(config, STORE, broker.endpoint, seed=seed)


async def reads_seen(w: Watcher, events: int) -> list[Reads]:
    """The ``reads`` events, decoded by the hub's codec, in arrival order."""
    await w.wait_for(lambda ms: len(w.on("gate-out/event/reads")) >= events)
    decoded = [CODEC.decode_event("reads", m.payload) for m in w.on("gate-out/event/reads")]
    assert all(isinstance(r, Reads) for r in decoded)
    return [r for r in decoded if isinstance(r, Reads)]


def flat(events: list[Reads]) -> list[TagRead]:
    return [read for event in events for read in event.reads]


async def test_leaving_tags_are_read_inside_first_then_outside_despite_noise(
    broker: Broker, watcher: Watcher
) -> None:
    epcs = tag_epcs(PRODUCTS[0].gtin, range(1, 31))
    noise = GateNoise(miss_rate=0.3, cross_reads=3, rssi_sigma=3.0)
    async with gate(broker) as sim:
        result = await sim.walk(epcs, "out", noise=noise, dwell=0.05)
    reads = flat(await reads_seen(watcher, len(result.seqs)))
    assert reads == result.reads
    assert result.missed > 0 and len(result.cross_read) == 3
    both = 0
    for epc in epcs:
        inside = [i for i, r in enumerate(reads) if r.epc == epc and r.antenna == INSIDE]
        outside = [i for i, r in enumerate(reads) if r.epc == epc and r.antenna == OUTSIDE]
        if inside and outside:  # not every read of it was dropped
            both += 1
            assert inside[0] < outside[0]
            assert reads[inside[-1]].ts < reads[outside[0]].ts
            assert max(inside) < min(outside)  # all inside reads come first
    assert both >= 25  # with 3 reads per antenna, losing all of them at p=0.3 is rare
    for stray in result.cross_read:  # tags near the gate: one antenna only
        assert stray not in epcs
        assert len({r.antenna for r in reads if r.epc == stray}) <= 1
    inside_rssi = [r.rssi for r in reads if r.antenna == INSIDE]
    outside_rssi = [r.rssi for r in reads if r.antenna == OUTSIDE]
    assert statistics.mean(inside_rssi) == pytest.approx(-55, abs=1.5)
    assert statistics.mean(outside_rssi) == pytest.approx(-60, abs=1.5)
    assert statistics.stdev(inside_rssi) > 1


async def test_entering_tags_are_read_outside_first(broker: Broker, watcher: Watcher) -> None:
    epcs = tag_epcs(PRODUCTS[1].gtin, [1, 2])
    async with gate(broker) as sim:
        result = await sim.walk(epcs, "in")
    reads = flat(await reads_seen(watcher, len(result.seqs)))
    assert [r.antenna for r in reads] == [OUTSIDE] * 6 + [INSIDE] * 6
    assert {r.rssi for r in reads} == {-55.0, -60.0}  # no noise: no jitter
    assert [r.ts for r in reads] == sorted(r.ts for r in reads)
    assert result.missed == 0 and result.cross_read == []


async def test_a_cart_of_200_tags_arrives_in_chunks_of_at_most_200(
    broker: Broker, watcher: Watcher
) -> None:
    async with gate(broker) as sim:
        epcs = sim.new_tags(200)
        assert len(set(epcs)) == 200
        assert all(decode_epc(epc).scheme == "sgtin-96" for epc in epcs)
        result = await sim.walk(epcs, "out")
    events = await reads_seen(watcher, len(result.seqs))
    assert len(events) == len(result.seqs) == 6  # 200 tags x 3 reads x 2 antennas / 200
    assert all(len(e.reads) <= 200 for e in events)
    assert sum(len(e.reads) for e in events) == 1200
    assert [e.seq for e in events] == result.seqs == sorted(result.seqs)
    first_outside = next(i for i, r in enumerate(flat(events)) if r.antenna == OUTSIDE)
    assert first_outside == 600


async def test_same_seed_same_noise(broker: Broker) -> None:
    epcs = tag_epcs(PRODUCTS[2].gtin, range(10))
    results = []
    for _ in range(2):
        async with gate(broker, seed=42) as sim:
            results.append(await sim.walk(epcs, noise=GateNoise(miss_rate=0.2)))
    a, b = ([(r.epc, r.antenna, r.rssi) for r in res.reads] for res in results)
    assert a == b


async def test_alarm_command_is_recorded(broker: Broker, watcher: Watcher) -> None:
    async with gate(broker) as sim:
        await watcher.command("gate-out", "alarm", id="a1", pattern="theft", seconds=3)
        assert (await wait_reply(watcher, "gate-out", "a1"))["ok"] is True
        await watcher.command("gate-out", "alarm", id="a2", pattern="party")
        assert (await wait_reply(watcher, "gate-out", "a2"))["ok"] is False
    assert [(a.pattern, a.seconds) for a in sim.alarms] == [("theft", 3)]


async def test_a_zebra_gate_reports_in_the_readers_own_format(
    broker: Broker, watcher: Watcher
) -> None:
    config = GATE.model_copy(update={"format": "zebra", "data_topic": "store/s1/zebra/gate-out"})
    async with gate(broker, config=config) as sim:
        result = await sim.walk(tag_epcs(PRODUCTS[3].gtin, [5]), "out")
    assert result.seqs == []
    await watcher.wait_for(lambda ms: len(watcher.on("zebra/gate-out")) == 2)
    zebra = [read for m in watcher.on("zebra/gate-out") for read in decode_zebra(m.payload)]
    assert [(r.epc, r.antenna) for r in zebra] == [(r.epc, r.antenna) for r in result.reads]
    assert watcher.on("/event/reads") == []


def test_gate_noise_is_checked() -> None:
    with pytest.raises(ValueError, match="miss_rate"):
        GateNoise(miss_rate=1.0)
    with pytest.raises(ValueError, match="negative"):
        GateNoise(cross_reads=-1)
