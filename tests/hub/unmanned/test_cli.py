"""``storehub unmanned``: tokens the demo store accepts, a scenario from the command line."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from hub.cli import app
from hub.unmanned import tokens
from simulators.store.play import demo_key

runner = CliRunner()


def test_token_is_signed_with_the_demo_key() -> None:
    out = runner.invoke(
        app, ["unmanned", "token", "--member", "m9", "--pay", "tok-9", "--party", "2"]
    )
    assert out.exit_code == 0, out.output
    pub = tokens.load_public_key(tokens.public_key_text(demo_key()))
    claims = tokens.TokenVerifier("s1", {"demo": pub}).verify(out.output.strip())
    assert (claims.member, claims.pay, claims.party) == ("m9", "tok-9", 2)


@pytest.mark.integration
def test_scenario_prints_its_figures() -> None:
    out = runner.invoke(
        app, ["unmanned", "scenario", "rfid_box", "--shoppers", "2", "--seed", "4", "--json"]
    )
    assert out.exit_code == 0, out.output
    figures = json.loads(out.output)
    assert figures["model"] == "rfid_box" and figures["shoppers"] == 2
    assert figures["silent_unpaid_exits"] == 0
