"""rules/gate.py: the gate service in a hub (no broker needed: commands are recorded)."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from devices.rfid_gate.codec import Reads, TagRead
from devices.rfid_gate.epc import gtin_to_sgtin_hex
from hub.broker import free_port
from hub.config import EnvSettings, load_config
from hub.db import connect_reader
from hub.events import CommandOutcome, DeviceEvent
from hub.hub import Hub
from rules import gate
from rules.gate import GateService
from tests.conftest import DEMO, eventually

EPC = "3074257BF7194E4000001A85"  # GTIN 80614141123458 (Merino wool scarf), serial 6789
T0 = 1_700_000_000.0


class FakeClock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


class Rig:
    def __init__(self, hub: Hub, svc: GateService, clock: FakeClock) -> None:
        self.hub, self.svc, self.clock = hub, svc, clock
        self.commands: list[tuple[str, str, dict[str, Any]]] = []
        self.seq = 0

    async def fake_command(self, device: str, name: str, **args: Any) -> CommandOutcome:
        self.commands.append((device, name, args))
        now = self.clock()
        return CommandOutcome(
            id="x", device=device, name=name, args=args, outcome="ok", sent=now, finished=now
        )

    def event(self, gate_id: str, *reads: tuple[str, int, float]) -> DeviceEvent:
        self.seq += 1
        self.clock.now += 0.2
        now = self.clock.now
        payload = Reads(
            ts=now,
            seq=self.seq,
            reads=[TagRead(epc=e, antenna=a, rssi=r, ts=now) for e, a, r in reads],
        )
        return DeviceEvent(
            device=gate_id,
            kind="rfid_gate",
            zone="exit",
            name="reads",
            seq=self.seq,
            ts=now,
            received=now,
            payload=payload,
        )

    def walk(self, epcs: list[str], gate_id: str = "gate-out", out: bool = True) -> bool:
        """Carry tags through: one event on the near side, one on the far side."""
        near, far = (1, 2) if out else (2, 1)
        self.svc.handle(self.event(gate_id, *((e, near, -50.0) for e in epcs)))
        return self.svc.handle(self.event(gate_id, *((e, far, -50.0) for e in epcs)))

    def alarms(self) -> list[tuple[str, str, dict[str, Any]]]:
        return [c for c in self.commands if c[1] == "alarm"]

    def unpaid_alerts(self) -> list[Any]:
        return [a for a in self.hub.alerts.live() if a.kind == "unpaid_exit"]


@pytest.fixture
async def rig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Rig]:
    # The demo store plus an entrance gate, with the demo catalog beside it.
    store = tmp_path / "store.toml"
    store.write_text(
        DEMO.read_text() + '\n[[devices]]\nid = "gate-in"\nkind = "rfid_gate"\n'
        "inside_antennas = [1]\noutside_antennas = [2]\n"
    )
    shutil.copy(DEMO.parent / "catalog.toml", tmp_path / "catalog.toml")
    cfg = load_config(
        EnvSettings(
            config=store,
            data_dir=tmp_path / "data",
            api_port=0,
            broker_url=f"mqtt://127.0.0.1:{free_port()}",
        )
    )
    clock = FakeClock()
    async with Hub(cfg, plugins=[gate.plugin], clock=clock) as hub:
        svc = gate.service(hub)
        await asyncio.wait_for(svc.ready.wait(), 5)
        r = Rig(hub, svc, clock)
        monkeypatch.setattr(hub, "command", r.fake_command)
        yield r


async def test_service_is_one_per_hub_and_loads_the_catalog(rig: Rig) -> None:
    assert gate.service(rig.hub) is rig.svc
    assert len(rig.svc.catalog) >= 30
    item = rig.svc.catalog.get("80614141123458")
    assert item is not None and item.name == "Merino wool scarf"
    assert set(rig.svc.gates) == {"gate-out", "gate-in"}


async def test_unpaid_tag_leaving_alarms_and_raises_one_critical_alert(rig: Rig) -> None:
    assert rig.walk([EPC]) is True
    await eventually(lambda: rig.alarms() and rig.unpaid_alerts())
    assert rig.alarms() == [("gate-out", "alarm", {"pattern": "theft", "seconds": 5})]
    [alert] = rig.unpaid_alerts()
    assert (alert.severity, alert.device, alert.zone) == ("critical", "gate-out", "exit")
    assert alert.data["epc"] == EPC and alert.data["epcs"] == [EPC]
    assert (alert.data["gtin"], alert.data["serial"]) == ("80614141123458", "6789")
    assert alert.data["name"] == "Merino wool scarf"
    assert alert.title == "Unpaid item leaving through Exit RFID gate: Merino wool scarf"
    [record] = rig.svc.alarms
    assert record.gate == "gate-out" and record.epcs == (EPC,)
    assert record.received <= record.handled <= record.decided


async def test_paid_tag_leaving_raises_nothing(rig: Rig) -> None:
    assert await rig.svc.paid.mark_paid([EPC.lower()], "sale-1") == [EPC]
    assert rig.walk([EPC]) is False
    await asyncio.sleep(0.05)
    assert rig.alarms() == [] and rig.unpaid_alerts() == []


async def test_an_entrance_gate_never_alarms(rig: Rig) -> None:
    assert rig.walk([EPC], gate_id="gate-in") is False
    await asyncio.sleep(0.05)
    assert rig.alarms() == [] and rig.unpaid_alerts() == []


async def test_several_unpaid_tags_of_one_passage_make_one_alarm_and_one_alert(
    rig: Rig,
) -> None:
    paid = gtin_to_sgtin_hex("06901234567892", 1)  # tea, paid
    scarf2 = gtin_to_sgtin_hex("80614141123458", 2)
    shirt = gtin_to_sgtin_hex("06901234561067", 3)
    await rig.svc.paid.mark_paid([paid], "sale-7")
    rig.walk([EPC, paid])
    rig.clock.now += 1.0  # the rest of the bag, a moment later
    rig.walk([scarf2])
    rig.walk([shirt])
    await eventually(lambda: rig.unpaid_alerts() and rig.unpaid_alerts()[0].data["count"] == 3)
    assert len(rig.alarms()) == 1
    [alert] = rig.unpaid_alerts()
    assert alert.data["epcs"] == [EPC, scarf2, shirt]
    assert [t.get("name") for t in alert.data["tags"]] == [
        "Merino wool scarf",
        "Merino wool scarf",
        "Cotton T-shirt, M",
    ]
    assert alert.title.startswith("3 unpaid items leaving through Exit RFID gate")
    # ... stored as updated, with the same id.
    await rig.hub.journal.flush()
    db = connect_reader(rig.hub.db_path)
    rows = db.execute("SELECT id, data FROM alerts WHERE kind='unpaid_exit'").fetchall()
    db.close()
    assert len(rows) == 1 and rows[0]["id"] == alert.id
    assert json.loads(rows[0]["data"])["count"] == 3


async def test_after_a_gap_the_next_unpaid_tag_is_a_new_passage(rig: Rig) -> None:
    rig.walk([EPC])
    rig.clock.now += 10
    rig.walk([gtin_to_sgtin_hex("80614141123458", 2)])
    await eventually(lambda: len(rig.unpaid_alerts()) == 2)
    assert len(rig.alarms()) == 2 and len(rig.svc.alarms) == 2


async def test_a_refund_makes_the_tag_alarm_again(rig: Rig) -> None:
    await rig.svc.paid.mark_paid([EPC], "sale-9")
    assert rig.walk([EPC]) is False
    rig.clock.now += 3
    rig.walk([EPC], out=False)  # brought back to the counter
    assert await rig.svc.paid.unmark(sale_id="sale-9", reason="refund") == [EPC]
    rig.clock.now += 3
    assert rig.walk([EPC]) is True  # and carried out again, no longer paid
    await eventually(lambda: rig.unpaid_alerts())


async def test_derived_events_are_batched_onto_the_bus_and_journal(rig: Rig) -> None:
    bus = rig.hub.bus.subscribe(
        "test", accept=lambda e: isinstance(e, DeviceEvent) and e.name != "reads"
    )
    await rig.svc.paid.mark_paid([EPC], "sale-1")
    shirt = gtin_to_sgtin_hex("06901234561067", 3)
    rig.walk([EPC, shirt])
    await rig.svc.flush()
    got = {}
    while (event := bus.get_nowait()) is not None:
        assert isinstance(event, DeviceEvent)
        got[event.name] = event.payload.model_dump()
    assert set(got) == {"arrived", "leaving"}
    assert [t["epc"] for t in got["arrived"]["tags"]] == [EPC, shirt]
    leaving = {t["epc"]: t for t in got["leaving"]["tags"]}
    assert leaving[EPC]["paid"] is True and leaving[EPC]["passage"] is None
    assert leaving[shirt]["paid"] is False and leaving[shirt]["passage"]
    assert leaving[EPC]["gtin"] == "80614141123458" and leaving[EPC]["side"] == "outside"
    # Departures come from the periodic tick.
    rig.clock.now += 601
    await rig.svc.tick()
    await rig.svc.flush()
    await rig.hub.journal.flush()
    db = connect_reader(rig.hub.db_path)
    names = [
        r[0]
        for r in db.execute(
            "SELECT name FROM journal WHERE device='gate-out' AND type='event' ORDER BY id"
        )
    ]
    db.close()
    assert names == ["arrived", "leaving", "departed"]


async def test_reads_from_the_bus_reach_the_gate_logic(rig: Rig) -> None:
    for event in (rig.event("gate-out", (EPC, 1, -50.0)), rig.event("gate-out", (EPC, 2, -50.0))):
        await rig.hub.bus.publish(event)
    await eventually(lambda: rig.alarms())


async def test_a_bad_batch_does_not_stop_the_gates(
    rig: Rig, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    calls = []

    def broken(event: DeviceEvent) -> bool:
        calls.append(event)
        raise RuntimeError("boom")

    monkeypatch.setattr(rig.svc, "handle", broken)
    await rig.hub.bus.publish(rig.event("gate-out", (EPC, 1, -50.0)))
    await eventually(lambda: calls)
    monkeypatch.undo()
    monkeypatch.setattr(rig.hub, "command", rig.fake_command)
    for event in (rig.event("gate-out", (EPC, 1, -50.0)), rig.event("gate-out", (EPC, 2, -50.0))):
        await rig.hub.bus.publish(event)
    await eventually(lambda: rig.alarms())
    assert "reads not handled" in caplog.text
