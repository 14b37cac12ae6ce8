"""rules/gate_cli.py: ``storehub paid ...`` and ``storehub traffic``."""

from __future__ import annotations

import json
import time
from pathlib import Path

import typer
from typer.testing import CliRunner

from hub.db import connect_writer
from rules import gate_cli
from tests.conftest import DEMO

A, B = "3074257BF7194E4000001A85", "3074257BF7194E4000001A86"

# As the storehub command will mount it.
storehub = typer.Typer()
storehub.command("version")(lambda: None)
storehub.add_typer(gate_cli.app)


def cli(data: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(storehub, [*args, "--config", str(DEMO), "--data-dir", str(data)])
    return result.exit_code, result.output


def test_paid_mark_check_history_unmark(tmp_path: Path) -> None:
    code, out = cli(tmp_path, "paid", "mark", A, B, "--sale", "sale-1")
    assert code == 2 and "--offline" in out  # a running hub would not see it
    code, out = cli(tmp_path, "paid", "mark", A.lower(), B, "--sale", "sale-1", "--offline")
    assert code == 0 and "marked 2 tag(s) paid by sale-1" in out
    code, out = cli(tmp_path, "paid", "check", A, "--json")
    assert code == 0 and json.loads(out)[0]["sale_id"] == "sale-1"
    code, out = cli(tmp_path, "paid", "list", "--sale", "sale-1", "--json")
    assert sorted(r["epc"] for r in json.loads(out)) == [A, B]
    code, out = cli(tmp_path, "paid", "unmark", B, "--reason", "refund", "--offline")
    assert code == 0 and "un-marked 1" in out
    code, out = cli(tmp_path, "paid", "check", A, B)
    assert code == 1 and "not paid" in out
    code, out = cli(tmp_path, "paid", "history", "--epc", B, "--json")
    assert [r["action"] for r in json.loads(out)] == ["unpaid", "paid"]
    code, out = cli(tmp_path, "paid", "history")
    assert code == 0 and "refund" in out
    code, out = cli(tmp_path, "paid", "check", "not-an-epc")
    assert code == 2 and "not an EPC" in out


def test_paid_without_a_database(tmp_path: Path) -> None:
    code, out = cli(tmp_path, "paid", "list")
    assert code == 2 and "no hub database" in out


def test_traffic(tmp_path: Path) -> None:
    conn = connect_writer(tmp_path / "hub.db")
    conn.execute("INSERT INTO devices(id, kind, config) VALUES ('door-in', 'door', '{}')")
    now = time.time()
    for seq, (ts, direction) in enumerate(
        [(now - 60, "in"), (now - 50, "in"), (now - 40, "out"), (now - 3 * 86400, "in")]
    ):
        conn.execute(
            "INSERT INTO journal(type, ts, received, device, name, seq, data)"
            " VALUES ('event', ?, ?, 'door-in', 'passage', ?, ?)",
            (ts, ts, seq, json.dumps({"ts": ts, "seq": seq, "direction": direction})),
        )
    conn.close()
    code, out = cli(tmp_path, "traffic", "--json")
    assert code == 0
    rows = json.loads(out)
    assert sum(r["entries"] for r in rows) == 2 and sum(r["exits"] for r in rows) == 1
    assert rows[0]["hour"].endswith("+08:00")  # the demo store is in Asia/Shanghai
    code, out = cli(tmp_path, "traffic", "--hours", "100")
    assert code == 0 and "total" in out and "door-in" in out
    code, out = cli(tmp_path, "traffic", "--since", "2000-01-01", "--until", "2000-01-02")
    assert code == 0 and "door-in" not in out
    code, out = cli(tmp_path, "traffic", "--since", "yesterday")
    assert code == 2
