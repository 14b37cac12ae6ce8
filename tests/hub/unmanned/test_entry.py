"""The entrance of an unmanned store, with the real hub and Mosquitto: tokens are used
once and expire, cards on file and enrolled faces open sessions, a family shares one."""

from __future__ import annotations

import json
import sqlite3

import pytest

from hub.db import connect_reader
from hub.hub import Hub
from hub.unmanned.tokens import issue
from simulators.store.play import demo_key
from simulators.store.runner import StoreRun
from tests.conftest import eventually
from tests.hub.unmanned.conftest import opens, svc_of

pytestmark = pytest.mark.integration


def refused(hub: Hub) -> list[str]:
    conn = connect_reader(hub.db_path)
    try:
        rows = conn.execute(
            "SELECT data FROM journal WHERE type = 'unmanned' AND name = 'entry_refused'"
        ).fetchall()
    finally:
        conn.close()
    return [json.loads(r[0])["reason"] for r in rows]


async def test_a_token_opens_the_door_once_and_an_expired_one_never(
    store: tuple[Hub, StoreRun],
) -> None:
    hub, run = store
    door = run.door("door-in")
    token = issue(demo_key(), kid="demo", store="s1", member="m1", pay="tok-1", party=2)
    await door.credential("qr", token)
    await eventually(lambda: opens(door))
    session = opens(door)[0]["session"]
    assert session in svc_of(hub).sessions
    await door.credential("qr", token)  # a screenshot passed on
    stale = issue(demo_key(), kid="demo", store="s1", ttl_s=10, now=1_000_000.0)
    await door.credential("qr", stale)
    await door.credential("qr", "SH1.bm90.aGluZw")
    await eventually(lambda: len(refused(hub)) == 3)
    assert refused(hub) == ["already used", "expired", "malformed entry token"]
    assert len(opens(door)) == 1
    # A family of two: both walk in on the session, a third is a tailgater.
    for track in ("ta", "tb", "tc"):
        await door.passage("in", session=session, track=track)
    await eventually(lambda: svc_of(hub).sessions[session].entered == 3)
    assert svc_of(hub).sessions[session].tracks == ["ta", "tb", "tc"]
    await eventually(lambda: hub.alerts.find("unmanned_tailgating:door-in:entrance") is not None)


async def test_cards_on_file_and_enrolled_faces_open_sessions(
    store: tuple[Hub, StoreRun],
) -> None:
    hub, run = store
    door = run.door("door-in")

    def member(conn: sqlite3.Connection) -> None:
        for mid, card in (("m7", "card-7"), ("m9", "card-9")):
            conn.execute(
                "INSERT INTO sync_members(id, name, data, version) VALUES (?,?,?,?)",
                (mid, mid, json.dumps({"name": mid, "cards": [card]}), 1),
            )

    await hub.journal.call(member)
    await door.credential("card", "card-7")
    await door.credential("card", "card-unknown")
    await eventually(lambda: opens(door) and refused(hub))
    assert refused(hub) == ["unknown card"]
    svc = svc_of(hub)
    [s] = svc.sessions.values()
    assert (s.via, s.member, s.pay_token) == ("card", "m7", "card-7")
    # An enrolled member's face (vision reports only members who consented): a session
    # charged to the card on file; a face without a card on file is not let in.
    face = await svc.entrance.open_by_face("m9")
    assert face is not None and face.via == "face" and face.pay_token == "card-9"
    assert await svc.entrance.open_by_face("m9") is None  # seen again at the door
    assert await svc.entrance.open_by_face("m8") is None
    await eventually(lambda: len(opens(door)) == 2)
