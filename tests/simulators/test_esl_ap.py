"""The esl_ap simulator's labels check images like firmware (no broker needed)."""

from __future__ import annotations

from typing import Any

from devices.esl_ap.codec import LabelUpdate, Update, encode_image, image_hash
from devices.esl_ap.config import EslApConfig
from simulators.base import SimEndpoint
from simulators.esl_ap import EslApSimulator


def sim(**kw: Any) -> EslApSimulator:
    s = EslApSimulator(
        EslApConfig(id="ap-1", capacity=2), "s1", SimEndpoint("127.0.0.1", 1), seed=1, **kw
    )
    s.add_labels(3, width=250, height=122, colors="bw", interval_s=60)
    return s


def update(label: str, planes: bytes, *, h: str | None = None, width: int = 250) -> LabelUpdate:
    return LabelUpdate(
        label=label,
        hash=h or image_hash(planes),
        width=width,
        height=122,
        colors="bw",
        image=encode_image(planes),
    )


def test_label_checks_size_hash_and_battery() -> None:
    s = sim(radio_failure=0.0)
    a, b, c = list(s.labels)
    good = b"\x00" * 3904
    assert s.deliver(update(a, good))["status"] == "ok" and s.labels[a].hash == image_hash(good)
    assert s.deliver(update(b, b"\x00" * 100))["reason"] == "bad_size"
    assert s.deliver(update(b, good, h="f" * 32))["reason"] == "bad_hash"
    assert s.deliver(update(b, good, width=296))["reason"] == "bad_size"
    s.labels[c].battery_mv = 2000
    assert s.deliver(update(c, good))["reason"] == "battery"
    s.labels[c].dead = True
    assert s.deliver(update(c, good)) | {} == {
        "label": c,
        "hash": image_hash(good),
        "status": "retry",
        "reason": "no_ack",
    }


async def test_capacity_limit_rejects_the_rest() -> None:
    s = sim()
    ids = list(s.labels)
    planes = b"\x00" * 3904
    reply = await s.on_command("update", Update(updates=[update(i, planes) for i in ids]))
    assert reply is not None
    assert (
        reply["accepted"] == ids[:2]
        and reply["rejected"] == [{"label": ids[2], "reason": "capacity"}]
        and reply["free"] == 0
    )
    assert list(s.queue) == ids[:2]


def test_population_has_low_batteries_and_dead_labels() -> None:
    s = EslApSimulator(EslApConfig(id="ap-1"), "s1", SimEndpoint("127.0.0.1", 1), seed=3)
    labels = s.add_labels(2000, low_battery=0.05, dead=0.01)
    low = sum(1 for lb in labels if lb.battery_mv < 2400)
    dead = sum(1 for lb in labels if lb.dead)
    assert 50 < low < 150 and 5 < dead < 40
    assert len({lb.next_at for lb in labels}) > 1900  # check-ins spread over the interval
