"""rules/gate_logic.py: the pure gate state machine, on a fake clock."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pytest

from devices.rfid_gate.codec import TagRead
from devices.rfid_gate.config import RfidGateConfig
from devices.rfid_gate.epc import gtin_to_sgtin_hex
from rules.gate_logic import GateSettings, GateTracker, TagChange

EPC = "3074257BF7194E4000001A85"
T0 = 1_700_000_000.0


class FakeClock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def tracker(**settings: Any) -> tuple[GateTracker, FakeClock]:
    clock = FakeClock()
    base = GateSettings(inside=frozenset({1, 3}), outside=frozenset({2}))
    return GateTracker(dataclasses.replace(base, **settings), clock=clock), clock


def read(antenna: int, t: float, rssi: float = -50.0, epc: str = EPC) -> TagRead:
    return TagRead(epc=epc, antenna=antenna, rssi=rssi, ts=t)


def feed(tr: GateTracker, clock: FakeClock, *reads: TagRead) -> list[TagChange]:
    """One event: its reads happened at their ``ts``; it is sent and received at the last."""
    sent = max(r.ts for r in reads)
    clock.now = sent
    return tr.feed(reads, sent=sent)


def kinds(changes: Iterable[TagChange]) -> list[str]:
    return [c.kind for c in changes]


def passages(changes: Iterable[TagChange]) -> list[str]:
    return [c.kind for c in changes if c.kind in ("leaving", "entering")]


def test_settings_come_from_the_device_config() -> None:
    cfg = RfidGateConfig(
        id="g",
        inside_antennas=[1],
        outside_antennas=[2, 4],
        merge_window_s=0.5,
        moved_min_reads=3,
        echo_margin_db=9,
    )
    s = GateSettings.from_config(cfg)
    assert s.inside == {1} and s.outside == {2, 4}
    assert (s.merge_window_s, s.moved_min_reads, s.echo_margin_db) == (0.5, 3, 9)
    assert (s.departed_after_s, s.direction_min_reads) == (600.0, 1)  # the defaults


def test_one_read_inside_then_one_outside_is_leaving() -> None:
    tr, clock = tracker()
    assert kinds(feed(tr, clock, read(1, T0))) == ["arrived"]
    changes = feed(tr, clock, read(2, T0 + 0.3))
    assert kinds(changes) == ["leaving"]
    leaving = changes[0]
    assert (leaving.epc, leaving.side, leaving.antenna, leaving.reads) == (EPC, "outside", 1, 2)
    view = tr.tag(EPC.lower())
    assert view is not None and view.side == "outside"


def test_outside_then_inside_is_entering_and_lowercase_epcs_are_one_tag() -> None:
    tr, clock = tracker()
    feed(tr, clock, read(2, T0, epc=EPC.lower()))
    assert kinds(feed(tr, clock, read(3, T0 + 0.2))) == ["entering"]
    assert len(tr) == 1


def test_a_tag_first_seen_outside_never_leaves() -> None:
    tr, clock = tracker()
    feed(tr, clock, read(2, T0), read(2, T0 + 0.1))
    assert "leaving" not in kinds(feed(tr, clock, read(2, T0 + 0.5)))


def test_reads_of_a_batch_are_placed_by_their_own_time() -> None:
    # A Zebra-style batch: one message with the inside reads before the outside ones,
    # listed out of order; the reader's clock is 30 s off the hub's.
    tr, _clock = tracker()
    skew = -30.0
    batch = [read(2, T0 + skew + 0.4), read(1, T0 + skew), read(1, T0 + skew + 0.1)]
    changes = tr.feed(batch, sent=T0 + skew + 0.4, received=T0)
    assert kinds(changes) == ["arrived", "leaving"]
    assert changes[0].ts == pytest.approx(T0 - 0.4) and changes[1].ts == pytest.approx(T0)


def test_a_weak_echo_on_the_far_side_is_not_a_crossing() -> None:
    tr, clock = tracker()
    feed(tr, clock, read(1, T0, -48), read(1, T0 + 0.05, -50))
    # Read on the outside antenna 20 dB weaker within the merge window: a cross-read.
    assert feed(tr, clock, read(2, T0 + 0.1, -70)) == []
    assert tr.tag(EPC).side == "inside"  # type: ignore[union-attr]
    # The same weak read once the strong inside reads are older than the window: the
    # tag is gone from the inside antenna, so it did leave.
    assert kinds(feed(tr, clock, read(2, T0 + 1.2, -70))) == ["leaving"]


def test_a_first_read_that_was_an_echo_is_corrected_without_a_passage() -> None:
    tr, clock = tracker()
    feed(tr, clock, read(1, T0, -74))  # a passer-by outside, caught by the inside antenna
    assert feed(tr, clock, read(2, T0 + 0.1, -45)) == []  # 29 dB stronger: corrected
    assert tr.tag(EPC).side == "outside"  # type: ignore[union-attr]


def test_a_tag_in_the_doorway_does_not_flap() -> None:
    tr, clock = tracker()
    feed(tr, clock, read(1, T0))
    assert kinds(feed(tr, clock, read(2, T0 + 0.1))) == ["leaving"]
    # Read on both sides for a moment: within the refractory time it stays outside.
    assert passages(feed(tr, clock, read(1, T0 + 0.3), read(2, T0 + 0.4))) == []
    assert passages(feed(tr, clock, read(1, T0 + 1.5))) == []
    # Two seconds (2 x merge window) later, back inside is a real entering.
    assert passages(feed(tr, clock, read(1, T0 + 2.2))) == ["entering"]


def test_direction_min_reads() -> None:
    tr, clock = tracker(direction_min_reads=2)
    feed(tr, clock, read(1, T0))
    assert feed(tr, clock, read(2, T0 + 0.1)) == []
    assert passages(feed(tr, clock, read(2, T0 + 0.2))) == ["leaving"]


def test_reads_in_the_merge_window_are_evidence_together() -> None:
    # moved needs 2 reads on the new antenna within the merge window.
    tr, clock = tracker(merge_window_s=0.5)
    feed(tr, clock, read(1, T0, -50))
    assert feed(tr, clock, read(3, T0 + 0.1, -49)) == []
    changes = feed(tr, clock, read(3, T0 + 0.2, -49))  # 2 reads within 0.5 s
    assert kinds(changes) == ["moved"]
    assert (changes[0].from_antenna, changes[0].antenna, changes[0].side) == (1, 3, "inside")
    # Reads further apart than the window never add up.
    tr2, clock2 = tracker(merge_window_s=0.5)
    feed(tr2, clock2, read(1, T0, -50))
    assert feed(tr2, clock2, read(3, T0 + 0.1, -49)) == []
    assert feed(tr2, clock2, read(1, T0 + 0.4, -50)) == []
    assert feed(tr2, clock2, read(3, T0 + 0.8, -49)) == []
    # ... and a weaker antenna does not take the tag over while the old one reads it
    # (within the window); once the old one's reads have aged out, it does.
    tr3, clock3 = tracker()
    feed(tr3, clock3, read(1, T0, -45))
    assert feed(tr3, clock3, read(3, T0 + 0.1, -60), read(3, T0 + 0.2, -61)) == []
    assert kinds(feed(tr3, clock3, read(3, T0 + 1.05, -60))) == ["moved"]


def test_arrived_moved_departed_edgex_style() -> None:
    tr, clock = tracker(departed_after_s=600)
    assert kinds(feed(tr, clock, read(1, T0))) == ["arrived"]
    assert kinds(feed(tr, clock, read(3, T0 + 1), read(3, T0 + 1.1))) == ["moved"]
    clock.now = T0 + 1.1 + 599
    assert tr.tick() == []
    clock.now = T0 + 1.1 + 600
    departed = tr.tick()
    assert kinds(departed) == ["departed"]
    assert (departed[0].antenna, departed[0].rssi, departed[0].reads) == (3, None, 3)
    assert len(tr) == 0 and tr.tag(EPC) is None
    assert kinds(feed(tr, clock, read(1, clock.now + 1))) == ["arrived"]  # a new stay


def test_departures_leave_recently_read_tags_alone() -> None:
    tr, clock = tracker(departed_after_s=10)
    other = gtin_to_sgtin_hex("80614141123458", 1)
    feed(tr, clock, read(1, T0), read(1, T0, epc=other))
    feed(tr, clock, read(1, T0 + 8))
    clock.now = T0 + 12
    assert [c.epc for c in tr.tick()] == [other]


def test_lingering_is_reported_once_per_stay() -> None:
    tr, clock = tracker(linger_after_s=30)
    out: list[TagChange] = []
    for i in range(0, 61, 2):
        out += feed(tr, clock, read(1, T0 + i))
    assert kinds(out) == ["arrived", "lingering"]
    assert out[1].ts == pytest.approx(T0 + 30) and out[1].side == "inside"
    # Carried out: a new side, a new stay.
    assert kinds(feed(tr, clock, read(2, T0 + 62))) == ["leaving"]
    out = []
    for i in range(64, 100, 2):
        out += feed(tr, clock, read(2, T0 + i))
    assert kinds(out) == ["lingering"]


def test_memory_is_bounded() -> None:
    tr, clock = tracker(max_tags=3)
    epcs = [gtin_to_sgtin_hex("80614141123458", i) for i in range(4)]
    out = feed(tr, clock, *(read(1, T0 + i * 0.01, epc=e) for i, e in enumerate(epcs)))
    assert kinds(out) == ["arrived"] * 3 + ["arrived", "departed"]
    assert out[-1].epc == epcs[0] and len(tr) == 3


# -- direction under noise ------------------------------------------------------------

ROUND = 0.05  # s between two inventory rounds of the reader
FRONT_TO_BACK = 15.0  # dB: how much weaker an antenna reads behind itself


def rssi_inside_antenna(x: float) -> float:
    """x < 0: inside the store, metres from the gate."""
    return -45 + 8 * x if x <= 0 else -45 - FRONT_TO_BACK - 20 * x


def rssi_outside_antenna(x: float) -> float:
    return -45 - 8 * x if x >= 0 else -45 - FRONT_TO_BACK + 20 * x


@dataclass
class Scene:
    """Shoppers walking out and in, and tags standing near the gate, with noise."""

    seed: int
    miss_rate: float = 0.3
    cross_rate: float = 0.05  # per round: a standing tag read on the far antenna
    cross_below_db: float = 20.0  # ... this much weaker than its real reads
    rssi_sigma: float = 2.5
    speed: float = 1.2  # m/s
    leaving: list[str] = field(default_factory=list)
    entering: list[str] = field(default_factory=list)
    standing: list[str] = field(default_factory=list)

    def events(
        self, walkers_out: int = 15, walkers_in: int = 5, standing: int = 8
    ) -> list[tuple[float, list[TagRead]]]:
        rng = random.Random(self.seed)
        serial = iter(range(self.seed * 1000, self.seed * 1000 + 999))

        def epc() -> str:
            return gtin_to_sgtin_hex("80614141123458", next(serial))

        walks = []
        for n, start_x, v, names in (
            (walkers_out, -3.0, self.speed, self.leaving),
            (walkers_in, 3.0, -self.speed, self.entering),
        ):
            for _ in range(n):
                names.append(e := epc())
                walks.append((e, start_x, v, rng.uniform(0, 6)))
        stands = []
        for _ in range(standing):
            self.standing.append(e := epc())
            stands.append((e, rng.choice([-1.5, -1.0, -0.8, 1.0, 1.5])))
        events: list[tuple[float, list[TagRead]]] = []
        batch: list[TagRead] = []
        for step in range(int(12 / ROUND)):
            t = T0 + step * ROUND
            tags = [(e, x0 + v * (t - T0 - s)) for e, x0, v, s in walks if t - T0 >= s]
            for e, x in [*tags, *stands]:
                for antenna, level in ((1, rssi_inside_antenna(x)), (2, rssi_outside_antenna(x))):
                    if level < -75:  # out of range: only a rare, weak cross-read
                        if (e, x) in stands and rng.random() < self.cross_rate:
                            own = max(rssi_inside_antenna(x), rssi_outside_antenna(x))
                            batch.append(read(antenna, t, own - self.cross_below_db, e))
                        continue
                    if rng.random() >= self.miss_rate:
                        rssi = round(level + rng.gauss(0, self.rssi_sigma), 1)
                        batch.append(read(antenna, t, rssi, e))
            if step % 2 == 1:  # the reader reports every 100 ms
                events.append((t, batch))
                batch = []
        return events


@pytest.mark.parametrize("seed", range(8))
def test_direction_under_noise(seed: int) -> None:
    scene = Scene(seed)
    events = scene.events()
    tr, clock = tracker()
    changes: list[TagChange] = []
    for t, batch in events:
        clock.now = t + 0.02  # network and broker
        changes += tr.feed(batch, sent=t)

    def of(epc: str) -> list[str]:
        return passages(c for c in changes if c.epc == epc)

    for epc in scene.leaving:
        assert of(epc) == ["leaving"], epc
    for epc in scene.entering:
        assert of(epc) == ["entering"], epc
    for epc in scene.standing:
        assert of(epc) == [], epc
    assert sum(len(b) for _, b in events) > 1000  # sanity: the scene was read


def test_a_cart_of_200_sparse_reads() -> None:
    # As a busy reader reports a cart: every tag 3 times per antenna within 0.1 s, the
    # inside antenna first, 5 % of reads missed, the outside antenna 5 dB weaker.
    rng = random.Random(7)
    epcs = [gtin_to_sgtin_hex("06901234561067", i) for i in range(200)]
    tr, clock = tracker()
    changes: list[TagChange] = []
    for antenna, mean, start in ((1, -55.0, T0), (2, -60.0, T0 + 0.6)):
        planned = [(e, antenna) for _ in range(3) for e in epcs]
        reads = [
            read(a, start + i * 0.1 / len(planned), round(rng.gauss(mean, 4.0), 1), e)
            for i, (e, a) in enumerate(planned)
            if rng.random() >= 0.05
        ]
        for i in range(0, len(reads), 200):  # events of at most 200 reads
            changes += feed(tr, clock, *reads[i : i + 200])
    leaving = {c.epc for c in changes if c.kind == "leaving"}
    assert len(leaving) == 200 and not passages(c for c in changes if c.kind != "leaving")


def test_echo_filter_can_be_turned_off() -> None:
    tr, clock = tracker(echo_margin_db=100.0)
    feed(tr, clock, read(1, T0, -30))
    assert kinds(feed(tr, clock, read(2, T0 + 0.1, -85))) == ["leaving"]
