"""Picks reach the right cart with the real hub and Mosquitto: a shopper who left the
store is no longer a candidate at a shelf; a pick one of several sessions may have made
is a dispute staff settle (charged to whom they name), not a doubt on every bill."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import pytest

from hub.checkout.ledger import Draft
from hub.hub import Hub
from hub.unmanned import review as rv
from hub.unmanned.billing import Bill
from hub.unmanned.hands import Pick
from hub.unmanned.service import UnmannedService
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


@dataclass
class Inside:
    """The grab-and-go store with three shoppers inside: tracks tA, tB and tC."""

    hub: Hub
    run: StoreRun
    svc: UnmannedService
    shoppers: list[ShopperSession]


@pytest.fixture
async def inside(store: tuple[Hub, StoreRun]) -> Inside:
    hub, run = store
    shoppers = [await enter(hub, run, f"m{i}", f"t{t}") for i, t in enumerate("ABC", 1)]
    return Inside(hub, run, svc_of(hub), shoppers)


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
    await eventually(lambda: svc.carts.fusion.tracks_at("shelf-1", time.time() + 60) == ("tB",))
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
    await svc.carts.apply(pick)
    assert b.doubts == ["06901234567892 taken at shelf-1/s1 in a crowd"]
    assert not b.items()


async def test_a_put_back_nobody_was_billed_for_doubts_who_was_billed_in_that_crowd(
    inside: Inside,
) -> None:
    hub, svc = inside.hub, inside.svc
    a, b, c = inside.shoppers[:3]
    tea, soy = "06901234567892", "06901234561029"
    # A tea from a crowd of tA and tB went to tA (the ceiling's word); tC took one alone.
    crowd = Evidence(source="weight", device="shelf-1", ts=1.0, confidence=1.0, tracks=("tA", "tB"))
    alone = Evidence(source="weight", device="shelf-1", ts=1.5, confidence=1.0, tracks=("tC",))
    await svc.carts.apply(Pick("shelf-1", "s1", "pick", tea, 1, "tA", 0.95, (crowd,)))
    await svc.carts.apply(Pick("shelf-1", "s1", "pick", tea, 1, "tC", 1.0, (alone,)))
    # tB puts a tea back (on another shelf) without being billed for one.
    put = Evidence(source="weight", device="shelf-2", ts=2.0, confidence=1.0, tracks=("tB",))
    await svc.carts.apply(Pick("shelf-2", "s3", "put", tea, 1, "tB", 0.6, (put,)))
    assert a.cart[tea].confidence == 0.5 and "tB put one back" in (
        a.cart[tea].evidence[-1].note or ""
    )
    assert c.cart[tea].confidence == 1.0 and not b.items()
    bill, _ = svc.bill(a, device=None)
    assert bill.confidence < 0.9  # (the demo store's review threshold)
    # A put-back with nobody to doubt tells staff.
    await svc.carts.apply(Pick("shelf-2", "s3", "put", soy, 1, "tB", 0.6, (put,)))
    assert any(x.kind == "unmanned_put_back_unbilled" for x in hub.alerts.live())


async def test_an_unsure_put_back_leaves_a_doubt_on_the_cart_it_came_off(inside: Inside) -> None:
    svc = inside.svc
    a = inside.shoppers[0]
    tea = "06901234567892"
    took = Evidence(source="weight", device="shelf-1", ts=1.0, confidence=1.0, tracks=("tA",))
    await svc.carts.apply(Pick("shelf-1", "s1", "pick", tea, 1, "tA", 1.0, (took,)))
    crowd = Evidence(source="weight", device="shelf-1", ts=2.0, confidence=1.0, tracks=("tA", "tB"))
    await svc.carts.apply(Pick("shelf-1", "s1", "put", tea, 1, "tA", 0.4, (crowd,), ("tB",)))
    assert not a.items() and a.doubts == [
        f"{tea} put back at shelf-1/s1 in a crowd, maybe by another shopper"
    ]
    bill, _ = svc.bill(a, device=None)
    assert bill.confidence < 0.9 and any("maybe by another" in r for r in bill.reasons)


async def test_a_pick_decided_after_the_exit_billed_the_cart_is_reviewed_on_its_own(
    inside: Inside,
) -> None:
    hub, svc = inside.hub, inside.svc
    a, b = inside.shoppers[:2]
    tea = "06901234567892"
    ev = Evidence(source="weight", device="shelf-1", ts=1.0, confidence=1.0, tracks=("tA",))
    # A's cart was billed at the exit (A is still in the door); B has left the store.
    a.billed = time.time()
    await svc.close(b)
    await svc.carts.apply(Pick("shelf-1", "s1", "pick", tea, 1, "tA", 1.0, (ev,)))
    await svc.carts.apply(Pick("shelf-1", "s1", "pick", tea, 2, "tB", 1.0, (ev,)))
    assert not a.items()
    pending = await hub.journal.call(lambda c: rv.listing(c, "pending", 10))
    late = {r.session: [(ln.gtin, ln.qty) for ln in r.bill.lines] for r in pending}
    assert late == {a.id: [(tea, 1)], b.id: [(tea, 2)]}
    assert all("after the bill" in r.reason for r in pending)
    # A pick by a track of no session is still nobody's.
    await svc.carts.apply(Pick("shelf-1", "s1", "pick", tea, 1, "t-unknown", 1.0, (ev,)))
    assert any(x.kind == "unmanned_unattributed" for x in hub.alerts.live())


async def test_a_pick_being_applied_as_the_exit_bills_is_on_that_bill(
    inside: Inside, monkeypatch: pytest.MonkeyPatch
) -> None:
    run, svc = inside.run, inside.svc
    a = inside.shoppers[0]
    shelf = run.sims["shelf-1"]
    assert isinstance(shelf, ShelfSimulator)
    slot, gtin = next(iter(shelf.config.slots.items()))
    item = svc.catalog_get(gtin)
    assert item is not None and item.weight_g
    t = time.time() - 10
    svc.carts.fusion.people("shelf-1", ["tA"], t)
    svc.carts.fusion.weight("shelf-1", slot, 5000.0, t)
    svc.carts.fusion.weight("shelf-1", slot, 5000.0 - item.weight_g, t + 1)
    # The shelf's decision is taken off the fusion, then slow to reach the cart ...
    apply = svc.carts.apply

    async def slow(pick: Pick, **kw: Any) -> None:
        await asyncio.sleep(0.3)
        await apply(pick, **kw)

    monkeypatch.setattr(svc.carts, "apply", slow)
    bills: list[Bill] = []
    make = svc.bill

    def bill(s: ShopperSession | None, **kw: Any) -> tuple[Bill, Draft]:
        out = make(s, **kw)
        bills.append(out[0])
        return out

    monkeypatch.setattr(svc, "bill", bill)
    deciding = asyncio.create_task(svc.carts.due(time.time()))
    await asyncio.sleep(0.05)
    # ... while the exit bills A's cart: the bill waits for it.
    assert svc.exits is not None
    await svc.exits.settle(a, [], "door-out", time.time())
    await deciding
    assert [(ln.gtin, ln.qty) for ln in bills[0].lines] == [(gtin, 1)]  # (the exit's)


def _crowd_pick(tea: str, count: int = 1, sure: int = 0) -> Pick:
    crowd = Evidence(
        source="weight", device="shelf-1", ts=1.0, confidence=0.4, slot="s1", tracks=("tA", "tB")
    )
    return Pick("shelf-1", "s1", "pick", tea, count, "tA", 0.4, (crowd,), ("tB",), sure, 0.97)


async def test_a_pick_two_sessions_may_have_made_is_a_dispute_on_nobodys_cart(
    inside: Inside,
) -> None:
    hub, svc = inside.hub, inside.svc
    a, b = inside.shoppers[:2]
    tea = "06901234567892"
    await svc.carts.apply(_crowd_pick(tea))
    # Neither cart gets it, nor a doubt: their bills are charged at their exits as usual.
    assert not a.items() and not b.items() and not a.doubts and not b.doubts
    [r] = await hub.journal.call(lambda c: rv.listing(c, "pending", 10))
    assert r.session is None and r.candidates == (a.id, b.id)  # the best guess first
    assert [(ln.gtin, ln.qty) for ln in r.bill.lines] == [(tea, 1)]
    assert "one of 2 shoppers" in r.reason
    # Staff must say who took it, and it must be a session.
    with pytest.raises(ValueError, match="say which session"):
        await svc.decide(r.id, "confirmed", by="staff")
    with pytest.raises(ValueError, match="no session"):
        await svc.decide(r.id, "confirmed", by="staff", session="ss-nobody")
    done = await svc.decide(r.id, "confirmed", by="staff", session=b.id)
    assert done.status == "charged" and done.session == b.id and done.sale_id
    assert b.id in {x.session for x in await hub.journal.call(lambda c: rv.listing(c, None, 10))}


async def test_the_units_the_camera_saw_one_hand_take_are_theirs_only_the_rest_disputed(
    inside: Inside,
) -> None:
    hub, svc = inside.hub, inside.svc
    a, b = inside.shoppers[:2]
    tea = "06901234567892"
    # The camera saw tA's hand take one; the scale lost two.
    await svc.carts.apply(_crowd_pick(tea, count=2, sure=1))
    assert a.items() == {tea: 1} and a.cart[tea].confidence == 0.97 and not b.items()
    [r] = await hub.journal.call(lambda c: rv.listing(c, "pending", 10))
    assert [(ln.gtin, ln.qty) for ln in r.bill.lines] == [(tea, 1)]
    assert r.candidates == (a.id, b.id)


async def test_a_dispute_two_took_from_is_charged_in_parts(inside: Inside) -> None:
    hub, svc = inside.hub, inside.svc
    a, b = inside.shoppers[:2]
    tea = "06901234567892"
    await svc.carts.apply(_crowd_pick(tea, count=2))
    [r] = await hub.journal.call(lambda c: rv.listing(c, "pending", 10))
    one = (rv.Correction(gtin=tea, qty=1),)
    done = await svc.decide(r.id, "corrected", by="staff", session=a.id, lines=one, keep_rest=True)
    assert done.status == "charged" and done.final is not None
    assert [(ln.gtin, ln.qty) for ln in done.final.lines] == [(tea, 1)]
    [rest] = await hub.journal.call(lambda c: rv.listing(c, "pending", 10))
    assert [(ln.gtin, ln.qty) for ln in rest.bill.lines] == [(tea, 1)]
    assert rest.candidates == (a.id, b.id) and r.id in rest.reason
    assert (await svc.decide(rest.id, "confirmed", by="staff", session=b.id)).status == "charged"
    # Without keep_rest, what was not charged is not queued again.
    await svc.carts.apply(_crowd_pick(tea, count=2))
    [r2] = await hub.journal.call(lambda c: rv.listing(c, "pending", 10))
    await svc.decide(r2.id, "corrected", by="staff", session=b.id, lines=one)
    assert not await hub.journal.call(lambda c: rv.listing(c, "pending", 10))


async def test_a_candidate_putting_the_item_back_is_noted_on_the_dispute(
    store: tuple[Hub, StoreRun],
) -> None:
    hub, run = store
    svc = svc_of(hub)
    await enter(hub, run, "m1", "tA")
    b = await enter(hub, run, "m2", "tB")
    c = await enter(hub, run, "m3", "tC")
    tea = "06901234567892"
    await svc.carts.apply(_crowd_pick(tea))
    # tC was billed a tea from a crowd tB was in, on the ceiling's word.
    crowd = Evidence(source="weight", device="shelf-1", ts=1.5, confidence=1.0, tracks=("tB", "tC"))
    await svc.carts.apply(Pick("shelf-1", "s1", "pick", tea, 1, "tC", 0.95, (crowd,)))
    put = Evidence(source="weight", device="shelf-2", ts=2.0, confidence=1.0, tracks=("tB",))
    await svc.carts.apply(Pick("shelf-2", "s3", "put", tea, 1, "tB", 0.6, (put,)))
    [r] = await hub.journal.call(lambda c: rv.listing(c, "pending", 10))
    assert any(f"{b.id} later put 1 back" in x for x in r.bill.reasons)
    # (kept for staff: had another taken it, they would leave unbilled)
    assert r.status == "pending"
    assert not any(x.kind == "unmanned_put_back_unbilled" for x in hub.alerts.live())
    # The disputed unit is the likelier one back: tC's bill is not doubted for it.
    assert c.cart[tea].confidence == 0.95


async def test_a_crowd_of_one_family_is_no_dispute(inside: Inside) -> None:
    hub, run, svc = inside.hub, inside.run, inside.svc
    a = inside.shoppers[0]
    door = run.door("door-in")
    await door.passage("in", session=a.id, track="tB")  # the family's second person
    await eventually(lambda: "tB" in a.tracks)
    tea = "06901234567892"
    await svc.carts.apply(_crowd_pick(tea))
    assert a.items() == {tea: 1}
    assert not await hub.journal.call(lambda c: rv.listing(c, "pending", 10))


async def test_an_unsure_put_back_among_holders_asks_who_kept_theirs(inside: Inside) -> None:
    hub, svc = inside.hub, inside.svc
    a, b, c = inside.shoppers[:3]
    tea = "06901234567892"
    took = Evidence(source="weight", device="shelf-1", ts=1.0, confidence=1.0)
    a.add(tea, 2, took)
    b.add(tea, 1, took)
    crowd = Evidence(
        source="weight", device="shelf-1", ts=2.0, confidence=1.0, tracks=("tA", "tB", "tC")
    )
    # One of A and B put a tea back (A likelier); C holds none: not a candidate.
    await svc.carts.apply(Pick("shelf-1", "s1", "put", tea, 1, "tA", 0.4, (crowd,), ("tB", "tC")))
    # A unit comes off each holder's cart; what is left is not in doubt: their bills are
    # charged at the exit as usual, nobody's bill is held.
    assert a.items() == {tea: 1} and a.cart[tea].confidence == 1.0 and not b.items()
    assert not a.doubts and not b.doubts and not c.doubts
    assert svc.bill(a, device=None)[0].confidence >= 0.9
    # Who kept theirs is a dispute, the one less likely to have put it back first.
    [r] = await hub.journal.call(lambda c: rv.listing(c, "pending", 10))
    assert r.session is None and r.candidates == (b.id, a.id)
    assert [(ln.gtin, ln.qty) for ln in r.bill.lines] == [(tea, 1)]
    assert r.reason.startswith("who kept 1 ×") and "one of 2 shoppers holding it" in r.reason
    done = await svc.decide(r.id, "confirmed", by="staff", session=a.id)
    assert done.status == "charged" and done.session == a.id


async def test_an_unsure_put_back_doubts_another_holder_where_only_one_holds_it(
    inside: Inside,
) -> None:
    svc = inside.svc
    b, c = inside.shoppers[1:3]
    tea = "06901234567892"
    b.add(tea, 1, Evidence(source="weight", device="shelf-1", ts=1.0, confidence=1.0))
    crowd = Evidence(
        source="weight", device="shelf-1", ts=2.0, confidence=1.0, tracks=("tA", "tB", "tC")
    )
    # Put back by A, who holds none (a wrong-shelf put-back, say), or by B.
    await svc.carts.apply(Pick("shelf-1", "s1", "put", tea, 1, "tA", 0.4, (crowd,), ("tB", "tC")))
    assert b.doubts == [f"{tea} put back, maybe by them, at shelf-1/s1 in a crowd"]
    assert not c.doubts  # (holds no tea: no bill of theirs can be wrong for it)


async def test_a_pick_decided_after_its_put_back_goes_on_no_cart(inside: Inside) -> None:
    svc = inside.svc
    a = inside.shoppers[0]
    tea = "06901234567892"

    def seen(ts: float, shelf: str = "shelf-1") -> Evidence:
        return Evidence(source="vision", device=shelf, ts=ts, confidence=0.95, tracks=("tA",))

    # A's put-back (on another shelf) is applied first: nothing of A's to take it off ...
    await svc.carts.apply(Pick("shelf-2", "s3", "put", tea, 1, "tA", 1.0, (seen(5.0, "shelf-2"),)))
    # ... then A's pick, whose hand came before it (a swap the scale did not see, decided
    # later): the tea came back, no cart gets it.
    await svc.carts.apply(Pick("shelf-1", "s1", "pick", tea, 1, "tA", 0.95, (seen(4.0),)))
    assert not a.items()
    # A pick after the put-back is a new one.
    await svc.carts.apply(Pick("shelf-1", "s1", "pick", tea, 1, "tA", 0.95, (seen(6.0),)))
    assert a.items() == {tea: 1}
