"""The ESL service end to end: real hub, Mosquitto and the esl_ap simulator."""

from __future__ import annotations

import pytest

from hub.db import connect_reader
from hub.esl.batches import IdempotencyConflict, PriceBatchIn
from hub.esl.labels import binding_history
from tests.conftest import eventually
from tests.hub.esl.conftest import GTINS, EnvFactory

pytestmark = pytest.mark.integration


def batch(key: str, *prices: tuple[str, str], **extra: object) -> PriceBatchIn:
    return PriceBatchIn.model_validate(
        {"idempotency_key": key, "prices": [{"gtin": g, "price": p} for g, p in prices], **extra}
    )


async def test_price_change_reaches_only_the_changed_labels(esl_env: EnvFactory) -> None:
    env = await esl_env(12)
    before = {lid: lb.hash for lid, lb in env.ap.labels.items()}
    updates_before = sum(lb.updates for lb in env.ap.labels.values())
    result = await env.esl.push(batch("b1", (GTINS[0], "9.90")))
    assert result["total"] == 4 and result["queued"] == 4  # 12 labels over 3 items
    done = await env.batch_done(result["id"])
    assert done["confirmed"] == 4 and done["failed"] == 0 and done["skipped"] == 0
    changed = {lid for lid, lb in env.ap.labels.items() if lb.hash != before[lid]}
    assert changed == {lb.id for lb in env.esl.labels.for_gtin(GTINS[0])}
    assert sum(lb.updates for lb in env.ap.labels.values()) == updates_before + 4
    for label in env.esl.labels.for_gtin(GTINS[0]):
        assert label.shown_price == 990 and label.converged


async def test_unchanged_content_is_not_resent(esl_env: EnvFactory) -> None:
    env = await esl_env(6)
    updates = sum(lb.updates for lb in env.ap.labels.values())
    # The price the labels already show (the catalog's), pushed as an HQ price.
    result = await env.esl.push(batch("same", (GTINS[1], "10.01")))
    done = await env.batch_done(result["id"])
    assert done["skipped"] == 2 and done["confirmed"] == 0
    assert sum(lb.updates for lb in env.ap.labels.values()) == updates


async def test_idempotency_key(esl_env: EnvFactory) -> None:
    env = await esl_env(3)
    first = await env.esl.push(batch("k", (GTINS[0], "8.80")))
    again = await env.esl.push(batch("k", (GTINS[0], "8.80")))
    assert again["id"] == first["id"]
    with pytest.raises(IdempotencyConflict):
        await env.esl.push(batch("k", (GTINS[0], "7.70")))
    await env.batch_done(first["id"])
    conn = connect_reader(env.hub.db_path)
    try:
        assert conn.execute("SELECT COUNT(*) FROM esl_prices").fetchone()[0] == 1
    finally:
        conn.close()


async def test_scheduled_price_and_promotion_follow_the_clock(esl_env: EnvFactory) -> None:
    env = await esl_env(3)
    label = env.esl.labels.for_gtin(GTINS[2])[0]
    now = env.clock()
    result = await env.esl.push(
        PriceBatchIn.model_validate(
            {
                "idempotency_key": "sched",
                "effective": now + 3600,
                "prices": [{"gtin": GTINS[2], "price": "5.00"}],
                "promotions": [
                    {
                        "gtin": GTINS[2],
                        "price": "3.90",
                        "start": now + 7200,
                        "end": now + 10800,
                        "text": "限时特价",
                    }
                ],
            }
        )
    )
    assert result["scheduled"] == 1 and not result["done"]
    await env.esl.idle()
    assert label.shown_price == 1002  # nothing changes before its time
    env.clock.advance(3601)
    await eventually(lambda: label.shown_price == 500 and label.converged)
    assert env.esl.catalog.get(GTINS[2]).price == 500
    hash_regular = label.confirmed_hash
    env.clock.advance(3600)  # the promotion starts
    await eventually(lambda: label.confirmed_hash != hash_regular and label.converged)
    promo_hash = label.confirmed_hash
    env.clock.advance(3600)  # ... and ends: back to the regular price image
    await eventually(lambda: label.confirmed_hash not in (promo_hash, None) and label.converged)
    assert label.confirmed_hash == hash_regular
    await env.batch_done(result["id"])


async def test_radio_failures_are_retried(esl_env: EnvFactory) -> None:
    env = await esl_env(30, radio_failure=0.3)
    assert env.esl.transport.retries > 0  # the initial sync needed retries, and converged
    result = await env.esl.push(batch("r", *((g, "1.00") for g in GTINS)))
    done = await env.batch_done(result["id"])
    assert done["confirmed"] == 30 and done["failed"] == 0


async def test_capacity_is_respected(esl_env: EnvFactory) -> None:
    env = await esl_env(40, capacity=5, batch_max=3)
    await env.settle()
    assert all(len(c.args["updates"]) <= 3 for c in env.ap.commands_received if c.name == "update")
    assert all(r.get("rejected") == [] for r in env.ap.replies if "rejected" in r)


async def test_refused_image_is_failed_with_reason(esl_env: EnvFactory) -> None:
    env = await esl_env(3)
    victim = next(iter(env.ap.labels.values()))
    victim.battery_mv = 2000  # too weak to refresh its display
    gtin = env.esl.labels.get(victim.id).gtin
    result = await env.esl.push(batch("weak", (gtin, "2.22")))
    done = await env.batch_done(result["id"])
    assert done["failed"] == 1 and done["errors"] == {victim.id: "battery"}


async def test_bindings_keep_history_and_led(esl_env: EnvFactory) -> None:
    env = await esl_env(2)
    label_id = next(iter(env.ap.labels))
    await env.esl.unbind(label_id, by="alice")
    outcome = await env.esl.flash(label_id, color="red", seconds=5)
    assert outcome.ok and env.ap.labels[label_id].leds[-1]["color"] == "red"
    conn = connect_reader(env.hub.db_path)
    try:
        history = binding_history(conn, label_id)
    finally:
        conn.close()
    assert [h.action for h in history] == ["bind", "unbind"] and history[1].by == "alice"
