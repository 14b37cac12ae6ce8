"""Frigate's documented MQTT payloads → typed vision events; malformed → PayloadError."""

from __future__ import annotations

import json
from typing import Any

import pytest

from devices.camera.codec import FaceRecognised, ObjectSeen, PlateRead
from devices.frigate.config import FrigateConfig
from devices.frigate.driver import Driver
from hub.errors import PayloadError

# From Frigate's MQTT documentation (docs/integrations/mqtt.md): frigate/events.
EVENT: dict[str, Any] = {
    "type": "update",
    "before": {
        "id": "1607123955.475377-mxklsc",
        "camera": "front_door",
        "frame_time": 1607123961.837752,
        "snapshot_time": 1607123961.837752,
        "label": "person",
        "sub_label": None,
        "top_score": 0.958984375,
        "false_positive": False,
        "start_time": 1607123955.475377,
        "end_time": None,
        "score": 0.7890625,
        "box": [424, 500, 536, 712],
        "area": 23744,
        "ratio": 2.113207,
        "region": [264, 450, 667, 853],
        "current_zones": ["driveway"],
        "entered_zones": ["yard", "driveway"],
        "thumbnail": None,
        "has_snapshot": False,
        "has_clip": False,
        "active": True,
        "stationary": False,
        "motionless_count": 0,
        "position_changes": 2,
        "attributes": {"face": 0.64},
        "current_attributes": [],
    },
    "after": {
        "id": "1607123955.475377-mxklsc",
        "camera": "front_door",
        "frame_time": 1607123962.082975,
        "snapshot_time": 1607123961.837752,
        "label": "person",
        "sub_label": ["John Smith", 0.79],
        "top_score": 0.958984375,
        "false_positive": False,
        "start_time": 1607123955.475377,
        "end_time": None,
        "score": 0.87890625,
        "box": [432, 496, 544, 854],
        "area": 40096,
        "ratio": 1.251397,
        "region": [218, 440, 693, 915],
        "current_zones": ["yard", "driveway"],
        "entered_zones": ["yard", "driveway"],
        "thumbnail": None,
        "has_snapshot": False,
        "has_clip": False,
        "active": True,
        "stationary": False,
        "motionless_count": 0,
        "position_changes": 2,
        "attributes": {"face": 0.86},
        "current_attributes": [{"label": "face", "box": [442, 506, 534, 524], "score": 0.86}],
    },
}
# frigate/tracked_object_update, face and lpr types (same documentation).
FACE = {
    "type": "face",
    "id": "1607123955.475377-mxklsc",
    "name": "John",
    "score": 0.95,
    "camera": "front_door_cam",
    "timestamp": 1607123958.748393,
}
LPR = {
    "type": "lpr",
    "id": "1607123955.475377-mxklsc",
    "name": "John's Car",
    "plate": "123ABC",
    "score": 0.95,
    "camera": "driveway_cam",
    "timestamp": 1607123958.748393,
}
DESCRIPTION = {
    "type": "description",
    "id": "1607123955.475377-mxklsc",
    "description": "The car is a red sedan moving away from the camera.",
}


def driver(**cfg: Any) -> Driver:
    return Driver(FrigateConfig(id="frigate", **cfg))


def dumps(obj: object) -> bytes:
    return json.dumps(obj).encode()


def test_subscribes_to_both_topics_under_the_prefix() -> None:
    assert list(driver().subscriptions()) == ["frigate/events", "frigate/tracked_object_update"]
    assert driver(topic_prefix="nvr1").subscriptions()[0] == "nvr1/events"


def test_zone_change_is_object_seen() -> None:
    [(name, p)] = driver(zones={"yard": "car-park"}).decode_foreign("frigate/events", dumps(EVENT))
    assert name == "object_seen" and isinstance(p, ObjectSeen)
    assert p.label == "person" and p.camera == "front_door" and p.phase == "update"
    assert p.zones == ["car-park", "driveway"]
    assert p.score == pytest.approx(0.958984375)  # the best score the object had
    assert p.ts == pytest.approx(1607123962.082975)


def test_update_without_zone_change_is_not_news() -> None:
    same = {**EVENT, "before": {**EVENT["before"], "current_zones": ["driveway", "yard"]}}
    assert driver().decode_foreign("frigate/events", dumps(same)) == []


def test_new_and_end() -> None:
    new = {"type": "new", "after": EVENT["after"]}
    [(_, p)] = driver().decode_foreign("frigate/events", dumps(new))
    assert isinstance(p, ObjectSeen) and p.phase == "new"
    end = {
        "type": "end",
        "before": EVENT["after"],
        "after": {**EVENT["after"], "end_time": 1607123999.0},
    }
    [(_, p)] = driver().decode_foreign("frigate/events", dumps(end))
    assert isinstance(p, ObjectSeen) and p.phase == "end" and p.ts == 1607123999.0


def test_filters_cameras_labels_scores_and_false_positives() -> None:
    new = {"type": "new", "after": EVENT["after"]}
    assert driver(cameras=["garage"]).decode_foreign("frigate/events", dumps(new)) == []
    assert driver(labels=["car"]).decode_foreign("frigate/events", dumps(new)) == []
    assert driver(min_score=0.99).decode_foreign("frigate/events", dumps(new)) == []
    fp = {"type": "new", "after": {**EVENT["after"], "false_positive": True}}
    assert driver().decode_foreign("frigate/events", dumps(fp)) == []


def test_face_update_is_face_recognised() -> None:
    [(name, p)] = driver().decode_foreign("frigate/tracked_object_update", dumps(FACE))
    assert name == "face_recognised" and isinstance(p, FaceRecognised)
    assert (p.name, p.score, p.camera) == ("John", 0.95, "front_door_cam")
    assert p.ts == pytest.approx(1607123958.748393)
    unnamed = {**FACE, "name": None}
    assert driver().decode_foreign("frigate/tracked_object_update", dumps(unnamed)) == []


def test_lpr_update_is_plate_read() -> None:
    [(name, p)] = driver().decode_foreign("frigate/tracked_object_update", dumps(LPR))
    assert name == "plate_read" and isinstance(p, PlateRead)
    assert (p.plate, p.name, p.camera, p.object_id) == (
        "123ABC",
        "John's Car",
        "driveway_cam",
        "1607123955.475377-mxklsc",
    )


def test_other_update_types_are_ignored() -> None:
    assert driver().decode_foreign("frigate/tracked_object_update", dumps(DESCRIPTION)) == []


def test_seq_counts_decoded_messages() -> None:
    d = driver()
    seqs = [d.decode_foreign("frigate/tracked_object_update", dumps(FACE))[0][1] for _ in "ab"]
    assert [p.seq for p in seqs if isinstance(p, FaceRecognised)] == [0, 1]


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("frigate/events", b"not json", "not_json"),
        ("frigate/events", b"[1, 2]", "not_object"),
        ("frigate/events", dumps({"type": "new"}), "invalid"),  # no "after"
        ("frigate/events", dumps({"type": "moved", "after": EVENT["after"]}), "invalid"),
        ("frigate/tracked_object_update", dumps({"type": "face", "name": "x"}), "invalid"),
        ("frigate/tracked_object_update", dumps({**LPR, "score": "high"}), "invalid"),
        ("frigate/tracked_object_update", b"{" + b" " * (1024 * 1024) + b"}", "too_large"),
        ("frigate/reviews", dumps({}), "bad_topic"),
    ],
)
def test_malformed_is_a_payload_error(topic: str, payload: bytes, reason: str) -> None:
    with pytest.raises(PayloadError) as err:
        driver().decode_foreign(topic, payload)
    assert err.value.reason == reason
