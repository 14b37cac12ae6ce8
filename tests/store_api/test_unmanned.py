"""Unmanned checkout through the API: sessions, the review queue, decisions, letting out.

A real hub of the demo store with grab-and-go enabled runs the gate, checkout and
unmanned plugins; bills reach the review queue the way the exits send them
(``UnmannedService.to_review``), and decisions are charged by the simulated payment
provider (any token but one starting with ``declined`` pays).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.checkout.sales import load_sale
from hub.hub import Hub
from hub.state import attach as attach_flags
from hub.unmanned.review import Review, of_session, owed_elsewhere
from hub.unmanned.review import load as load_review
from hub.unmanned.service import UnmannedService
from hub.unmanned.sessions import CartLine
from store_api.app import create_app
from tests.conftest import Mosquitto, eventually
from tests.store_api.conftest import (
    CRACKERS,
    SOY,
    TEA,
    UNMANNED_PLUGINS,
    Clock,
    Tokens,
    bearer,
    hub_config,
    make_token,
    pending_review,
    shopper,
    unmanned_running,
    unmanned_store,
)

pytestmark = pytest.mark.integration

PAY_TOKEN = "card-7f3a"


@pytest.fixture
async def hub(tmp_path: Path, mosquitto: Mosquitto, clock: Clock) -> AsyncIterator[Hub]:
    """This module's hub: the demo store with unmanned checkout (overrides conftest's)."""
    cfg = hub_config(tmp_path, mosquitto, config=unmanned_store(tmp_path))
    async with Hub(cfg, plugins=list(UNMANNED_PLUGINS), clock=clock) as h:
        await h.wait_ready(10)
        yield h


@pytest.fixture
async def svc(hub: Hub) -> UnmannedService:
    return await unmanned_running(hub)


@pytest.fixture
def answers(client: httpx.AsyncClient) -> list[str]:
    """The text of every answer the client got (to look for the payment token)."""
    seen: list[str] = []

    async def keep(response: httpx.Response) -> None:
        seen.append((await response.aread()).decode())

    client.event_hooks["response"].append(keep)
    return seen


def no_token_in(answers: list[str]) -> None:
    assert answers and not [a for a in answers if PAY_TOKEN in a or "pay_token" in a]


async def test_overview_and_sessions_never_show_the_payment_token(
    hub: Hub, svc: UnmannedService, client: httpx.AsyncClient, tokens: Tokens, answers: list[str]
) -> None:
    h = bearer(tokens.hq)  # any token reads
    inside = await shopper(svc, {TEA: 1, CRACKERS: 2}, pay_token=PAY_TOKEN)
    _, review = await pending_review(svc, {SOY: 1}, pay_token=PAY_TOKEN)

    overview = (await client.get("/unmanned", headers=h)).json()
    assert overview["model"] == "grab_and_go" and overview["emergency"] is False
    assert overview["sessions"] == 1 and overview["inside"] == 1
    assert overview["reviews"]["pending"] == 1 and overview["reviews"]["charged"] == 0

    listed = (await client.get("/unmanned/sessions", headers=h)).json()
    assert [s["id"] for s in listed] == [inside.id]
    one = listed[0]
    assert one["paying"] is True and one["state"] == "open" and one["via"] == "qr"
    assert one["member"] == "m-1001" and (one["party"], one["inside"]) == (1, 1)
    assert {ln["gtin"]: (ln["qty"], ln["confidence"]) for ln in one["cart"]} == {
        TEA: (1, 0.6),
        CRACKERS: (2, 0.6),
    }
    assert "evidence" not in one["cart"][0]

    detail = (await client.get(f"/unmanned/sessions/{inside.id}", headers=h)).json()
    evidence = detail["cart"][0]["evidence"][0]
    assert evidence["source"] == "weight" and evidence["tracks"] == ["t-1", "t-2"]
    assert evidence["note"] == "two shoppers at the shelf"

    closed = (await client.get(f"/unmanned/sessions/{review.session}", headers=h)).json()
    assert closed["state"] == "closed" and closed["reviews"] == [review.id]
    assert closed["closed"] is not None and closed["cart"] == []

    missing = await client.get("/unmanned/sessions/ss-nope", headers=h)
    assert missing.status_code == 404 and "ss-nope" in missing.json()["detail"]

    flags = await attach_flags(hub)
    await flags.set("emergency", True, by="fire alarm")
    await eventually(lambda: svc.emergency)
    assert (await client.get("/unmanned", headers=h)).json()["emergency"] is True
    no_token_in(answers)


async def test_the_queue_lists_bills_with_lines_confidence_and_evidence(
    svc: UnmannedService, client: httpx.AsyncClient, tokens: Tokens, answers: list[str]
) -> None:
    h = bearer(tokens.staff)
    _, first = await pending_review(svc, {TEA: 1, CRACKERS: 2}, pay_token=PAY_TOKEN)
    _, second = await pending_review(svc, {SOY: 1}, confidence=0.4, pay_token=PAY_TOKEN)

    page = (await client.get("/unmanned/reviews?status=pending", headers=h)).json()
    assert [r["id"] for r in page["items"]] == [first.id, second.id] and page["more"] is False
    assert (await client.get("/unmanned/reviews?limit=1", headers=h)).json()["more"] is True

    r = (await client.get(f"/unmanned/reviews/{first.id}", headers=h)).json()
    assert r["status"] == "pending" and r["session"] == first.session
    assert "two shoppers at the shelf" in r["reason"]
    bill = r["bill"]
    assert bill["total"] == 450 + 2 * 890 and bill["currency"] == "CNY"
    assert bill["confidence"] == 0.6 and bill["reasons"]
    lines = {ln["gtin"]: ln for ln in bill["lines"]}
    assert (lines[CRACKERS]["qty"], lines[CRACKERS]["amount"]) == (2, 1780)
    assert lines[TEA]["name"] == "Jasmine green tea 500 ml"
    assert lines[TEA]["confidence"] == 0.6 and lines[TEA]["evidence"][0]["device"] == "shelf-1"

    assert (await client.get("/unmanned/reviews/rv-nope", headers=h)).status_code == 404
    bad = await client.get("/unmanned/reviews?status=maybe", headers=h)
    assert bad.status_code == 422 and bad.json()["detail"].startswith("query.status")
    no_token_in(answers)


async def test_confirm_charges_the_bill_once(
    hub: Hub, svc: UnmannedService, client: httpx.AsyncClient, tokens: Tokens, answers: list[str]
) -> None:
    _, review = await pending_review(svc, {TEA: 1, CRACKERS: 2}, pay_token=PAY_TOKEN)
    url = f"/unmanned/reviews/{review.id}/confirm"

    assert (await client.post(url)).status_code == 401
    forbidden = await client.post(url, headers=bearer(tokens.hq))
    assert forbidden.status_code == 403 and "staff" in forbidden.json()["detail"]

    done = await client.post(url, json={"note": "looks right"}, headers=bearer(tokens.staff))
    assert done.status_code == 200, done.text
    r = done.json()
    assert r["status"] == "charged" and r["sale_id"] and r["charged"] == 2230
    assert (r["decided_by"], r["note"]) == ("floor-1", "looks right")

    again = await client.post(url, headers=bearer(tokens.staff))
    assert again.status_code == 409 and "already charged" in again.json()["detail"]
    unknown = await client.post("/unmanned/reviews/rv-nope/confirm", headers=bearer(tokens.staff))
    assert unknown.status_code == 404

    audit = (await client.get("/audit", headers=bearer(tokens.admin))).json()["items"]
    assert [(a["token"], a["status"]) for a in audit if a["path"] == url] == [
        ("floor-1", 409),
        ("floor-1", 200),
        ("hq-sync", 403),
        (None, 401),
    ]
    no_token_in(answers)


async def test_correct_charges_the_corrected_quantities(
    hub: Hub, svc: UnmannedService, client: httpx.AsyncClient, tokens: Tokens, answers: list[str]
) -> None:
    _, review = await pending_review(svc, {TEA: 1, CRACKERS: 2}, pay_token=PAY_TOKEN)
    url = f"/unmanned/reviews/{review.id}/correct"
    h = bearer(tokens.staff)

    async def refused(body: dict[str, Any]) -> str:
        answer = await client.post(url, json=body, headers=h)
        assert answer.status_code == 422, answer.text
        return str(answer.json()["detail"])

    assert "lines" in await refused({"lines": []})
    assert "check digit" in await refused({"lines": [{"gtin": "6901234567891", "qty": 1}]})
    assert "qty" in await refused({"lines": [{"gtin": TEA, "qty": -1}]})
    assert "qty" in await refused({"lines": [{"gtin": TEA, "qty": 1000}]})
    assert "given twice" in await refused(
        {"lines": [{"gtin": TEA, "qty": 1}, {"gtin": "6901234567892", "qty": 2}]}
    )
    assert "catalog" in await refused({"lines": [{"gtin": "4006381333931", "qty": 1}]})
    assert "extra" in (await refused({"lines": [{"gtin": TEA, "qty": 1}], "price": 1})).lower()
    assert (await client.post(url, json={"lines": []}, headers=bearer(tokens.hq))).status_code in (
        403,
        422,
    )

    body = {
        "lines": [{"gtin": "6901234561012", "qty": 1}, {"gtin": "6901234561029", "qty": 1}],
        "note": "one cracker pack went back; soy sauce was missed",
    }
    done = await client.post(url, json=body, headers=h)
    assert done.status_code == 200, done.text
    r = done.json()
    assert r["status"] == "charged" and r["charged"] == 450 + 890 + 1280
    assert r["corrected"] == [{"gtin": CRACKERS, "qty": 1}, {"gtin": SOY, "qty": 1}]
    stored = await hub.journal.call(lambda c: load_sale(c, r["sale_id"]))
    assert stored is not None
    assert {ln.gtin: ln.qty for ln in stored[0].lines} == {TEA: 1, CRACKERS: 1, SOY: 1}
    assert (await client.post(url, json=body, headers=h)).status_code == 409

    # A line set to 0 leaves the bill.
    _, other = await pending_review(svc, {TEA: 2, SOY: 1}, pay_token=PAY_TOKEN)
    zero = {"lines": [{"gtin": SOY, "qty": 0}]}
    r = (await client.post(f"/unmanned/reviews/{other.id}/correct", json=zero, headers=h)).json()
    assert r["status"] == "charged" and r["charged"] == 2 * 450
    no_token_in(answers)


async def test_a_dispute_is_charged_to_the_session_staff_name(
    hub: Hub, svc: UnmannedService, client: httpx.AsyncClient, tokens: Tokens
) -> None:
    a = await shopper(svc, {}, pay_token=PAY_TOKEN)
    b = await shopper(svc, {}, pay_token="card-b")
    _, sure = await pending_review(svc, {SOY: 1}, pay_token=PAY_TOKEN)
    line = CartLine(gtin=TEA, qty=2, confidence=0.4)
    bill, _ = svc.bill(None, device="shelf-1", extra=[line])
    dispute = await svc.to_review(None, bill, "who took it?", candidates=(a.id, b.id))
    h = bearer(tokens.staff)
    got = (await client.get(f"/unmanned/reviews/{dispute.id}", headers=h)).json()
    assert got["candidates"] == [a.id, b.id] and got["session"] is None
    assert (await client.get(f"/unmanned/reviews/{sure.id}", headers=h)).json()["candidates"] == []
    url = f"/unmanned/reviews/{dispute.id}"
    nobody = await client.post(f"{url}/confirm", headers=h)
    assert nobody.status_code == 422 and "which session" in nobody.json()["detail"]
    wrong = await client.post(f"{url}/confirm", json={"session": "ss-nope"}, headers=h)
    assert wrong.status_code == 422 and "no session" in wrong.json()["detail"]
    # A bill of one session is not another's to take.
    other = await client.post(
        f"/unmanned/reviews/{sure.id}/confirm", json={"session": b.id}, headers=h
    )
    assert other.status_code == 422 and "not " + b.id in other.json()["detail"]
    # A took one, B the other.
    body = {"lines": [{"gtin": TEA, "qty": 1}], "session": a.id, "keep_rest": True}
    done = (await client.post(f"{url}/correct", json=body, headers=h)).json()
    assert (done["status"], done["session"], done["charged"]) == ("charged", a.id, 450)
    queue = (await client.get("/unmanned/reviews?status=pending", headers=h)).json()["items"]
    [rest] = [r for r in queue if r["candidates"]]
    assert [(ln["gtin"], ln["qty"]) for ln in rest["bill"]["lines"]] == [(TEA, 1)]
    url = f"/unmanned/reviews/{rest['id']}/confirm"
    done = (await client.post(url, json={"session": b.id}, headers=h)).json()
    assert (done["status"], done["session"], done["charged"]) == ("charged", b.id, 450)


async def test_a_review_shows_what_else_its_shopper_is_asked_to_pay(
    svc: UnmannedService, client: httpx.AsyncClient, tokens: Tokens
) -> None:
    # A declined card: the dispute staff charged to the shopper failed to pay. Their
    # bill, reviewed next, shows it, so whoever corrects the bill does not add that item
    # again (the shopper would owe it twice).
    a = await shopper(svc, {}, pay_token="declined-card-9")
    b = await shopper(svc, {}, pay_token="card-b")
    bill, _ = svc.bill(None, device="shelf-1", extra=[CartLine(gtin=TEA, qty=1, confidence=0.4)])
    dispute = await svc.to_review(None, bill, "who took it?", candidates=(a.id, b.id))
    h = bearer(tokens.staff)
    url = f"/unmanned/reviews/{dispute.id}/confirm"
    failed = (await client.post(url, json={"session": a.id}, headers=h)).json()
    assert (failed["status"], failed["session"]) == ("payment_failed", a.id)
    _, theirs = await pending_review(svc, {SOY: 1}, pay_token="declined-card-9")
    # The same shopper's bill, as the exit queued it after the card declined.
    mine, _ = svc.bill(a, device="door-out", extra=[CartLine(gtin=SOY, qty=1)])
    review = await svc.to_review(a, mine, "payment declined; let out by floor-1")
    got = (await client.get(f"/unmanned/reviews/{review.id}", headers=h)).json()
    assert got["also"] == [
        {"id": dispute.id, "status": "payment_failed", "reason": "who took it?",
         "lines": [{"gtin": TEA, "qty": 1}]},
    ]  # fmt: skip
    # The dispute shows the bill back; another shopper's review shows neither.
    listed = (await client.get("/unmanned/reviews", headers=h)).json()["items"]
    also = {r["id"]: [o["id"] for o in r["also"]] for r in listed}
    assert also[dispute.id] == [review.id] and also[theirs.id] == []
    others = await svc.hub.journal.call(lambda c: of_session(c, a.id))
    assert owed_elsewhere(load_one(others, review.id), others) == {TEA: 1}


async def test_dismiss_charges_nothing_and_needs_a_note(
    hub: Hub, svc: UnmannedService, client: httpx.AsyncClient, tokens: Tokens
) -> None:
    _, review = await pending_review(svc, {TEA: 1}, pay_token=PAY_TOKEN)
    url = f"/unmanned/reviews/{review.id}/dismiss"
    h = bearer(tokens.staff)
    assert (await client.post(url, headers=h)).status_code == 422
    assert (await client.post(url, json={"note": ""}, headers=h)).status_code == 422
    assert (
        await client.post(url, json={"note": "x"}, headers=bearer(tokens.hq))
    ).status_code == 403

    r = (await client.post(url, json={"note": "a staff test walk"}, headers=h)).json()
    assert r["status"] == "dismissed" and r["sale_id"] is None and r["charged"] is None
    assert r["note"] == "a staff test walk" and r["decided_by"] == "floor-1"
    again = await client.post(url, json={"note": "again"}, headers=h)
    assert again.status_code == 409 and "dismissed" in again.json()["detail"]
    confirm = await client.post(f"/unmanned/reviews/{review.id}/confirm", headers=h)
    assert confirm.status_code == 409


async def test_a_declined_token_leaves_the_review_payment_failed(
    svc: UnmannedService, client: httpx.AsyncClient, tokens: Tokens
) -> None:
    _, review = await pending_review(svc, {SOY: 1}, pay_token="declined-card-9")
    done = await client.post(f"/unmanned/reviews/{review.id}/confirm", headers=bearer(tokens.staff))
    r = done.json()
    assert r["status"] == "payment_failed" and r["error"] == "declined" and r["sale_id"] is None


async def test_two_taps_on_confirm_charge_once(
    hub: Hub, svc: UnmannedService, client: httpx.AsyncClient, tokens: Tokens
) -> None:
    _, review = await pending_review(svc, {TEA: 1}, pay_token=PAY_TOKEN)
    url = f"/unmanned/reviews/{review.id}/confirm"
    answers = await asyncio.gather(
        client.post(url, headers=bearer(tokens.staff)),
        client.post(url, headers=bearer(tokens.admin)),
    )
    assert sorted(a.status_code for a in answers) == [200, 409]
    final = await hub.journal.call(lambda c: load_review(c, review.id))
    assert final is not None and final.status == "charged" and final.sale_id
    sales = await hub.journal.call(lambda c: c.execute("SELECT count(*) FROM sales").fetchone())
    assert sales[0] == 1


async def test_let_out_a_declined_shopper_queues_the_bill(
    svc: UnmannedService, client: httpx.AsyncClient, tokens: Tokens, answers: list[str]
) -> None:
    s = await shopper(svc, {TEA: 2}, pay_token="declined-card-9")
    url = f"/unmanned/sessions/{s.id}/let-out"
    assert (await client.post(url, headers=bearer(tokens.hq))).status_code == 403
    assert (
        await client.post("/unmanned/sessions/ss-nope/let-out", headers=bearer(tokens.staff))
    ).status_code == 404

    out = (await client.post(url, headers=bearer(tokens.staff))).json()
    assert out["session"] == s.id
    review = out["review"]
    assert review["status"] == "pending" and "let out by floor-1" in review["reason"]
    assert review["bill"]["total"] == 900
    pending = await client.get("/unmanned/reviews?status=pending", headers=bearer(tokens.staff))
    assert [r["id"] for r in pending.json()["items"]] == [review["id"]]
    assert "declined-card-9" not in "".join(answers)


async def test_not_enabled_in_the_demo_store(tmp_path: Path, mosquitto: Mosquitto) -> None:
    async with Hub(hub_config(tmp_path / "plain", mosquitto), plugins=[]) as plain:
        await plain.wait_ready(10)
        token = await make_token(plain, "floor-2", "staff")
        app = create_app(plain)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://hub") as c:
                read = await c.get("/unmanned/reviews", headers=bearer(token))
                assert read.status_code == 404
                assert read.json()["detail"] == "unmanned checkout is not enabled in this store"
                write = await c.post("/unmanned/reviews/rv-1/confirm", headers=bearer(token))
                assert write.status_code == 409
                assert write.json()["detail"] == "unmanned checkout is not enabled in this store"


def load_one(reviews: list[Review], review_id: str) -> Review:
    return next(r for r in reviews if r.id == review_id)
