"""AP queues: capacity, batching, supersession, retries with back-off, failures."""

from __future__ import annotations

import asyncio
from typing import Any

from devices.esl_ap.codec import LabelResult
from hub.esl.transport import Delivery, RetryPolicy, Transport
from hub.events import CommandOutcome
from tests.conftest import eventually

H1, H2 = "1" * 32, "2" * 32


def delivery(label: str, h: str = H1) -> Delivery:
    return Delivery(label, "ap", "k", h, {"label": label, "hash": h, "image": "AAAA"})


class FakeAp:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.sent: list[list[str]] = []
        self.outcomes: list[tuple[str, str, str | None]] = []
        self.fail_next = 0

    async def send(self, ap: str, updates: list[dict[str, Any]]) -> CommandOutcome:
        self.sent.append([u["label"] for u in updates])
        ok = self.fail_next == 0
        self.fail_next = max(0, self.fail_next - 1)
        return CommandOutcome(
            id="x",
            device=ap,
            name="update",
            args={},
            sent=0,
            finished=0,
            outcome="ok" if ok else "timeout",
            reply={"accepted": [u["label"] for u in updates], "rejected": []},
        )

    def outcome(self, d: Delivery, stage: str, reason: str | None) -> None:
        self.outcomes.append((d.label, stage, reason))


async def run(t: Transport) -> asyncio.Task[None]:
    return asyncio.create_task(t.run(sweep_s=0.01))


async def test_batches_respect_capacity_until_results_free_slots() -> None:
    ap = FakeAp(3)
    t = Transport(ap.send, ap.outcome, retry=RetryPolicy(base_s=0.01))
    t.add_ap("ap", capacity=3, batch_max=2, result_timeout_s=60)
    for i in range(5):
        t.submit(delivery(f"l{i}"))
    task = await run(t)
    await eventually(lambda: sum(map(len, ap.sent)) == 3)
    await asyncio.sleep(0.05)
    assert ap.sent == [["l0", "l1"], ["l2"]]  # batch_max 2, then capacity
    t.on_results("ap", [LabelResult(label="l0", hash=H1, status="ok")])
    await eventually(lambda: sum(map(len, ap.sent)) == 4)
    assert ("l0", "confirmed", None) in ap.outcomes
    task.cancel()


async def test_newer_image_replaces_a_queued_one() -> None:
    ap = FakeAp(10)
    t = Transport(ap.send, ap.outcome)
    t.add_ap("ap", capacity=10, batch_max=10, result_timeout_s=60)
    t.submit(delivery("a", H1))
    t.submit(delivery("a", H2))
    task = await run(t)
    await eventually(lambda: ap.sent)
    assert ap.sent == [["a"]] and t.queued_for("a").hash == H2  # type: ignore[union-attr]
    assert not t.submit(delivery("a", H2))  # already on its way
    task.cancel()


async def test_retry_with_backoff_then_give_up() -> None:
    ap = FakeAp(10)
    t = Transport(ap.send, ap.outcome, retry=RetryPolicy(base_s=0.01, max_attempts=3))
    t.add_ap("ap", capacity=10, batch_max=10, result_timeout_s=60)
    t.submit(delivery("a"))
    task = await run(t)
    for _ in range(3):
        await eventually(lambda: "a" in t.links["ap"].inflight)
        t.on_results("ap", [LabelResult(label="a", hash=H1, status="retry", reason="radio")])
    await eventually(lambda: any(o[1] == "failed" for o in ap.outcomes))
    assert ap.outcomes[-1] == ("a", "failed", "gave up after 3 attempts: radio")
    assert len(ap.sent) == 3 and t.retries == 2
    task.cancel()


async def test_command_timeout_and_missing_results_are_retried() -> None:
    ap = FakeAp(10)
    ap.fail_next = 1
    t = Transport(ap.send, ap.outcome, retry=RetryPolicy(base_s=0.01))
    t.add_ap("ap", capacity=10, batch_max=10, result_timeout_s=0.05)
    t.submit(delivery("a"))
    task = await run(t)
    await eventually(lambda: len(ap.sent) >= 3)  # timeout → retry → no result → retry
    t.on_results("ap", [LabelResult(label="a", hash=H1, status="ok")])
    await eventually(lambda: ("a", "confirmed", None) in ap.outcomes)
    task.cancel()


async def test_failed_result_is_final() -> None:
    ap = FakeAp(10)
    t = Transport(ap.send, ap.outcome)
    t.add_ap("ap", capacity=10, batch_max=10, result_timeout_s=60)
    t.submit(delivery("a"))
    task = await run(t)
    await eventually(lambda: "a" in t.links["ap"].inflight)
    stray = t.on_results(
        "ap",
        [
            LabelResult(label="a", hash=H1, status="failed", reason="bad_hash"),
            LabelResult(label="zz", hash=H1, status="ok"),
        ],
    )
    assert [r.label for r in stray] == ["zz"]
    assert ("a", "failed", "bad_hash") in ap.outcomes and t.pending() == 0
    task.cancel()
