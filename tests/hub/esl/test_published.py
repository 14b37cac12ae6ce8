"""HQ's prices through cloud sync: from the reference cloud, through the inbox, onto the
labels and into the catalog price the checkout charges."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from hub.esl.batches import PriceBatchIn
from hub.sync import HttpCloudAdapter, Inbox, LogAlerts
from hub.sync.follow import follow
from hub.sync.metrics import SyncMetrics
from simulators.cloud import CloudServer, PublishChange
from tests.conftest import eventually
from tests.hub.esl.conftest import GTINS, Env, EnvFactory
from tests.hub.sync.conftest import fast_config, sql

pytestmark = pytest.mark.integration

TOKEN = "t"


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[CloudServer]:
    with CloudServer(tmp_path / "cloud" / "cloud.db", tokens={"s1": TOKEN}) as server:
        yield server


@pytest.fixture
async def adapters() -> AsyncIterator[list[HttpCloudAdapter]]:
    made: list[HttpCloudAdapter] = []
    yield made
    for adapter in made:
        await adapter.aclose()


def inbox_of(env: Env, cloud: CloudServer, adapters: list[HttpCloudAdapter]) -> Inbox:
    adapters.append(HttpCloudAdapter(cloud.url, "s1", TOKEN, timeout=2.0))
    inbox = Inbox(
        journal=env.hub.journal,
        adapter=adapters[-1],
        config=fast_config(cloud.url),
        alerts=LogAlerts(),
        metrics=SyncMetrics(),
        clock=env.clock,
    )
    follow(env.hub, inbox)  # the hooks the sync plugin registers in a hub
    return inbox


def shows(env: Env, gtin: str, price: int) -> bool:
    labels = env.esl.labels.for_gtin(gtin)
    return bool(labels) and all(lb.shown_price == price and lb.converged for lb in labels)


async def test_published_prices_reach_labels_and_the_till(
    esl_env: EnvFactory, cloud: CloudServer, adapters: list[HttpCloudAdapter]
) -> None:
    env = await esl_env(6)
    inbox = inbox_of(env, cloud, adapters)
    now = env.clock()
    cloud.store.publish(
        [
            PublishChange(type="price", key=GTINS[0].lstrip("0"), data={"price": 777}),
            PublishChange(
                type="price", key=GTINS[1], data={"price": 555, "effective_at": now + 3600}
            ),
        ]
    )
    result = await inbox.pull_once()
    assert len(result.applied) == 2, result.quarantined
    await env.esl.idle()
    await eventually(lambda: shows(env, GTINS[0], 777))
    assert env.esl.catalog.get(GTINS[0]).price == 777
    # A price for later changes nothing before its time, then both labels and till.
    assert shows(env, GTINS[1], 1001)
    assert env.esl.catalog.get(GTINS[1]).price == 1001
    env.clock.advance(3601)
    await eventually(lambda: shows(env, GTINS[1], 555))
    assert env.esl.catalog.get(GTINS[1]).price == 555
    batches = sql(env.hub.db_path, "SELECT gtin, batch FROM esl_prices ORDER BY id")
    assert [tuple(r) for r in batches] == [(GTINS[0], "sync:1"), (GTINS[1], "sync:2")]


async def test_a_withdrawn_price_falls_back_to_the_stores_own(
    esl_env: EnvFactory, cloud: CloudServer, adapters: list[HttpCloudAdapter]
) -> None:
    env = await esl_env(6)
    inbox = inbox_of(env, cloud, adapters)
    gtin = GTINS[2]
    pushed = await env.esl.push(
        PriceBatchIn.model_validate(
            {"idempotency_key": "own", "prices": [{"gtin": gtin, "price": "6.66"}]}
        )
    )
    await env.batch_done(pushed["id"])
    assert shows(env, gtin, 666)
    cloud.store.publish([PublishChange(type="price", key=gtin, data={"price": 888})])
    await inbox.pull_once()
    await eventually(lambda: shows(env, gtin, 888))
    assert env.esl.catalog.get(gtin).price == 888
    # A newer version replaces it ...
    cloud.store.publish([PublishChange(type="price", key=gtin, data={"price": 899})])
    await inbox.pull_once()
    await eventually(lambda: shows(env, gtin, 899))
    hq = sql(
        env.hub.db_path,
        "SELECT price, batch FROM esl_prices WHERE batch LIKE 'sync:%' ORDER BY effective",
    )
    # 888 stays the price of the time before 899 was published (history, never in force again).
    assert [tuple(r) for r in hq] == [(888, "sync:1"), (899, "sync:2")]
    # ... and a delete withdraws it: the store's own batch is in force again.
    cloud.store.publish([PublishChange(type="price", key=gtin, op="delete")])
    await inbox.pull_once()
    await eventually(lambda: shows(env, gtin, 666))
    assert env.esl.catalog.get(gtin).price == 666
