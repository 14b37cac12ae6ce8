"""Picks reach the right cart with the real hub and Mosquitto: a shopper who left the
store is no longer a candidate at a shelf, and the others who may have taken an item
are doubted even when the one it went to is gone."""

from __future__ import annotations

import time

from hub.hub import Hub
from hub.unmanned.hands import Pick
from hub.unmanned.sessions import Evidence, ShopperSession
from hub.unmanned.tokens import issue
from simulators.shelf import ShelfSimulator
from simulators.store.play import demo_key
from simulators.store.runner import StoreRun
from tests.conftest import eventually
from tests.hub.unmanned.conftest import opens, svc_of


async def enter(hub: Hub, run: StoreRun, member: str, track: str) -> ShopperSession:
    door = run.door("door-in")
    mark = len(opens(door))
    token = issue(demo_key(), kid="demo", store=hub.store_id, member=member, pay=f"tok-{member}")
    await door.credential("qr", token)
    await eventually(lambda: len(opens(door)) > mark)
    sid = str(opens(door)[-1]["session"])
    await door.passage("in", session=sid, track=track)
    svc = svc_of(hub)
    await eventually(lambda: track in svc.sessions[sid].tracks)
    return svc.sessions[sid]


async def test_a_shopper_out_of_the_store_took_nothing_after(
    store: tuple[Hub, StoreRun],
) -> None:
    hub, run = store
    svc = svc_of(hub)
    shelf = run.sims["shelf-1"]
    assert isinstance(shelf, ShelfSimulator)
    slot, gtin = next(iter(shelf.config.slots.items()))
    a = await enter(hub, run, "m1", "tA")
    b = await enter(hub, run, "m2", "tB")
    await shelf.weight(slot, 5000.0)  # the baseline
    await shelf.people(["tA", "tB"])
    await shelf.people(["tB"])  # A steps away ...
    # (once the hub has it: long after now, only who stands there counts)
    await eventually(lambda: svc.fusion.tracks_at("shelf-1", time.time() + 60) == ("tB",))
    await svc.close(a)  # ... and out of the store (left within the presence grace)
    # B takes one; the camera saw a hand but not whose.
    await shelf.action(slot, "pick", gtin, 1, 0.9, None)
    weight = svc.catalog_get(gtin)
    assert weight is not None and weight.weight_g
    await shelf.weight(slot, 5000.0 - weight.weight_g)
    await eventually(lambda: b.items() == {gtin: 1})
    line = b.cart[gtin]
    assert line.confidence == 1.0 and not b.doubts


async def test_the_others_are_doubted_when_the_one_a_pick_went_to_is_gone(
    store: tuple[Hub, StoreRun],
) -> None:
    hub, run = store
    svc = svc_of(hub)
    b = await enter(hub, run, "m2", "tB")
    ev = Evidence(source="weight", device="shelf-1", ts=1.0, confidence=0.4, slot="s1")
    pick = Pick("shelf-1", "s1", "pick", "06901234567892", 1, "t-gone", 0.4, (ev,), ("tB",))
    await svc.apply_pick(pick)
    assert b.doubts == ["06901234567892 taken at shelf-1/s1 in a crowd"]
    assert not b.items()
