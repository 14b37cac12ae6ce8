"""Starting a hub for a demo unmanned store and playing scenarios against it: the bench,
the tests and ``storehub unmanned`` use these."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.checkout.payment import SimulatedProvider
from hub.config import EnvSettings, HubConfig, load_config
from hub.hub import Hub
from hub.unmanned.config import Model
from hub.unmanned.tokens import load_private_key
from simulators.store.layout import ROOT
from simulators.store.report import Report
from simulators.store.runner import StoreRun
from simulators.store.shoppers import Knobs

#: The demo cloud's signing key (DEMO ONLY: a store never holds the cloud's private key).
DEMO_KEY = ROOT / "configs" / "unmanned-demo-key.txt"


def demo_key() -> Ed25519PrivateKey:
    text = DEMO_KEY.read_text(encoding="utf-8")
    return load_private_key(next(ln for ln in text.splitlines() if ln and ln[0] != "#"))


def demo_config(
    model: Model, data_dir: Path, *, broker_url: str | None, api_port: int
) -> HubConfig:
    """configs/unmanned-<model>.toml, with the managed broker on a free port."""
    config = ROOT / "configs" / f"unmanned-{model}.toml"
    cfg = load_config(
        EnvSettings(config=config, data_dir=data_dir, broker_url=broker_url, api_port=api_port)
    )
    if broker_url is None:
        broker = cfg.store.broker.model_copy(update={"port": 0})
        cfg = cfg.model_copy(update={"store": cfg.store.model_copy(update={"broker": broker})})
    return cfg


@contextlib.asynccontextmanager
async def store_hub(
    model: Model,
    data_dir: Path,
    *,
    broker_url: str | None = None,
    api_port: int = 0,
    provider: SimulatedProvider | None = None,
) -> AsyncIterator[tuple[Hub, Callable[..., StoreRun]]]:
    """A running hub for the model's demo store, and a factory of runs against it."""
    from hub.checkout.config import CheckoutConfig, SimulatedPayments
    from hub.checkout.service import plugin_with
    from hub.unmanned.service import plugin as unmanned_plugin
    from rules.engine import plugin as rules_plugin
    from rules.gate import plugin as gate_plugin

    cfg = demo_config(model, data_dir, broker_url=broker_url, api_port=api_port)
    provider = provider or SimulatedProvider(hold=True)
    checkout = CheckoutConfig(payment=SimulatedPayments(), payment_poll_s=0.05)
    plugins = [gate_plugin, rules_plugin, plugin_with(checkout, provider=provider), unmanned_plugin]
    if api_port:
        from store_api.server import plugin as api_plugin

        plugins.append(api_plugin)
    async with Hub(cfg, plugins=plugins) as hub:
        await hub.wait_ready(15)
        port = urlsplit(hub.broker.url).port if hub.broker is not None else None

        def run(knobs: Knobs, *, staff: bool = True) -> StoreRun:
            return StoreRun(hub, knobs, demo_key(), provider=provider, port=port, staff=staff)

        yield hub, run


async def run_scenario(knobs: Knobs, data_dir: Path, *, broker_url: str | None = None) -> Report:
    """Start a hub for ``knobs.model``'s demo store (managed broker unless ``broker_url``),
    play the scenario, score it, stop the hub."""
    provider = SimulatedProvider(hold=True, seed=knobs.seed)
    async with store_hub(knobs.model, data_dir, broker_url=broker_url, provider=provider) as (
        _hub,
        run,
    ):
        return await run(knobs).play()


def main(argv: list[str] | None = None) -> None:
    """``python -m simulators.store.play KNOBS_JSON``: one scenario (:meth:`Knobs.to_json`),
    its report as JSON on stdout (the bench runs each in its own process)."""
    import asyncio
    import dataclasses
    import json
    import sys
    import tempfile

    [text] = sys.argv[1:] if argv is None else argv
    knobs = Knobs.from_json(text)
    with tempfile.TemporaryDirectory() as tmp:
        report = asyncio.run(run_scenario(knobs, Path(tmp) / "data"))
    outcomes = [dataclasses.asdict(o) for o in report.outcomes]
    print(json.dumps({"summary": report.summary(), "outcomes": outcomes}))


if __name__ == "__main__":
    main()
