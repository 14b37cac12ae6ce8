from __future__ import annotations

import pytest

from hub.errors import PayloadError
from hub.topics import DeviceTopic, device_acl


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        ("store/s1/device/door-in/state", DeviceTopic("s1", "door-in", "state")),
        ("store/s1/device/door-in/reply", DeviceTopic("s1", "door-in", "reply")),
        ("store/s1/device/gate-out/event/reads", DeviceTopic("s1", "gate-out", "event", "reads")),
        ("store/s1/device/k1/command/basket", DeviceTopic("s1", "k1", "command", "basket")),
    ],
)
def test_parse(topic: str, expected: DeviceTopic) -> None:
    assert DeviceTopic.parse(topic, "s1") == expected
    assert str(expected) == topic


@pytest.mark.parametrize(
    ("topic", "reason"),
    [
        ("store/s2/device/d/state", "bad_topic"),
        ("store/s1/device/Door/state", "bad_device_id"),
        ("store/s1/device/d/event", "bad_topic"),
        ("store/s1/device/d/event/a/b", "bad_topic"),
        ("store/s1/device/d/status", "bad_topic"),
        ("store/s1/device/d/state/x", "bad_topic"),
    ],
)
def test_parse_rejects(topic: str, reason: str) -> None:
    with pytest.raises(PayloadError) as info:
        DeviceTopic.parse(topic, "s1")
    assert info.value.reason == reason


def test_a_device_may_read_its_commands_and_the_hubs_state_only() -> None:
    publish, subscribe = device_acl("s1", "door-out")
    base = "store/s1/device/door-out"
    assert publish == (f"{base}/state", f"{base}/event/#", f"{base}/reply")
    assert subscribe == (f"{base}/command/#", "store/s1/hub/state")
