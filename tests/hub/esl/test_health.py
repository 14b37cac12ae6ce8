"""Label health: low battery, missed check-ins, shelf vs checkout price."""

from __future__ import annotations

import pytest

from tests.conftest import eventually
from tests.hub.esl.conftest import GTINS, EnvFactory

pytestmark = pytest.mark.integration


async def test_low_battery_raises_then_clears(esl_env: EnvFactory) -> None:
    env = await esl_env(3)
    sim = next(iter(env.ap.labels.values()))
    sim.battery_mv = 2300
    await env.ap.checkin([sim])
    await eventually(lambda: env.hub.alerts.find(f"esl_low_battery:{sim.id}"))
    alert = env.hub.alerts.find(f"esl_low_battery:{sim.id}")
    assert alert is not None and alert.data["battery_mv"] == 2300 and alert.device == "ap-1"
    sim.battery_mv = 3000
    await env.ap.checkin([sim])
    await eventually(lambda: env.hub.alerts.find(f"esl_low_battery:{sim.id}") is None)


async def test_missed_checkins_raise_offline_and_a_checkin_resolves(esl_env: EnvFactory) -> None:
    env = await esl_env(3)
    assert await env.esl.health.sweep() == []
    env.clock.advance(3 * 3600 + 700)  # three intervals (and the jitter) gone by
    missing = await env.esl.health.sweep()
    assert sorted(missing) == sorted(env.ap.labels)
    first = missing[0]
    assert env.hub.alerts.find(f"esl_label_offline:{first}") is not None
    await env.ap.checkin([env.ap.labels[first]])
    await eventually(lambda: env.hub.alerts.find(f"esl_label_offline:{first}") is None)


async def test_many_missing_labels_make_one_alert(esl_env: EnvFactory) -> None:
    env = await esl_env(8, settings={"offline_summary_over": 5})
    env.clock.advance(4 * 3600)
    assert len(await env.esl.health.sweep()) == 8
    summaries = [a for a in env.hub.alerts.live() if a.kind == "esl_labels_offline"]
    assert len(summaries) == 1 and summaries[0].data["count"] == 8
    assert not [a for a in env.hub.alerts.live() if a.kind == "esl_label_offline"]


async def test_price_mismatch_is_an_incident(esl_env: EnvFactory) -> None:
    env = await esl_env(3)
    assert await env.esl.health.audit() == 0
    item = env.esl.catalog.get(GTINS[0])
    assert item is not None
    await env.esl.catalog.upsert([item.model_copy(update={"price": 1999})])  # till changed
    assert await env.esl.health.audit() == 1
    label = env.esl.labels.for_gtin(GTINS[0])[0]
    alert = env.hub.alerts.find(f"price_mismatch:{label.id}")
    assert (
        alert is not None and alert.data["shelf"] == "10.00" and alert.data["checkout"] == "19.99"
    )
    await env.esl.catalog.upsert([item])
    assert await env.esl.health.audit() == 0
    assert env.hub.alerts.find(f"price_mismatch:{label.id}") is None


async def test_label_that_lost_its_image_is_resent(esl_env: EnvFactory) -> None:
    env = await esl_env(3)
    sim = next(iter(env.ap.labels.values()))
    wanted = sim.hash
    sim.hash = None  # the label reset (battery swap)
    await env.ap.checkin([sim])
    await eventually(lambda: sim.hash == wanted)
