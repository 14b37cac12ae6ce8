"""hub.checkout.cli: ``storehub sales list / show / einvoice`` on a hub database."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from hub.checkout.cli import app
from tests.conftest import DEMO, eventually
from tests.hub.checkout.conftest import Harness, draft

runner = CliRunner()


async def test_list_show_and_einvoice(held: Harness) -> None:
    await held.cashier.start("pay-cli", draft())
    held.provider.settle("pay-cli", "succeeded")
    await eventually(lambda: held.finals)
    done = held.finals[0][1]
    assert done is not None
    await held.cashier.refund(done.sale.id, {0: 1}, refund_id="r-cli")
    await held.journal.flush()
    where = ["--config", str(DEMO), "--data-dir", str(held.journal.path.parent)]
    listed = runner.invoke(app, ["list", "--json", *where])
    assert listed.exit_code == 0, listed.output
    assert [s["id"] for s in json.loads(listed.output)] == [done.sale.id]
    shown = runner.invoke(app, ["show", done.sale.id, *where])
    assert shown.exit_code == 0 and "TOTAL CNY" in shown.output and "Green tea" in shown.output
    records = runner.invoke(app, ["einvoice", done.sale.id, "--json", *where])
    assert [r["kind"] for r in json.loads(records.output)] == ["blue", "red", "blue"]
    assert runner.invoke(app, ["einvoice", done.sale.id, *where]).exit_code == 0
    missing = runner.invoke(app, ["show", "nope", *where])
    assert missing.exit_code == 1
