"""Messages the hub must reject, one of each kind the contract names."""

from __future__ import annotations

import json
from typing import Any, Literal, get_args

from simulators.errors import SimulatorError

GarbageKind = Literal[
    "not_json",
    "array",
    "missing_field",
    "wrong_type",
    "oversized",
    "unknown_event",
    "foreign_topic",
]
GARBAGE_KINDS: tuple[GarbageKind, ...] = get_args(GarbageKind)


def garbage_message(
    kind: GarbageKind,
    *,
    name: str,
    valid: dict[str, Any],
    limit: int,
    other_topic: str,
) -> tuple[str, bytes]:
    """(topic, payload) of one bad message; ``topic`` is relative to the device unless
    it is ``other_topic``. ``valid`` is a valid body of event ``name``, ``limit`` that
    event's size limit."""
    topic = f"event/{name}"
    body: object
    if kind == "not_json":
        return topic, b"\x00{not json"
    if kind == "array":
        return topic, b"[1,2,3]"
    if kind == "missing_field":
        body = {k: v for k, v in valid.items() if k != "seq"}
    elif kind == "wrong_type":
        body = {**valid, "ts": "yesterday"}
    elif kind == "oversized":
        body = {**valid, "pad": "x" * (limit + 1)}
    elif kind == "unknown_event":
        body, topic = valid, "event/no-such-event"
    elif kind == "foreign_topic":
        body, topic = valid, other_topic
    else:
        raise SimulatorError(f"unknown garbage kind {kind!r} (one of {GARBAGE_KINDS})")
    return topic, json.dumps(body, separators=(",", ":")).encode()
