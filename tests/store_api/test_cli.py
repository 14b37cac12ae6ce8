"""``storehub token create/list/revoke`` (store_api/cli.py), against a data dir."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from hub import auth
from hub.db import connect_reader, db_path
from store_api.cli import app
from tests.conftest import DEMO

runner = CliRunner()


def run(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, [*args, "--config", str(DEMO), "--data-dir", str(tmp_path)])
    return result.exit_code, result.stdout, result.stderr


def test_create_prints_the_token_once_and_stores_its_hash(tmp_path: Path) -> None:
    code, out, err = run(tmp_path, "create", "li.wei", "--scope", "staff", "-s", "hq")
    assert code == 0, err
    token = out.strip()
    assert token.startswith("shb_") and "\n" not in token
    assert "shown once" in err
    conn = connect_reader(db_path(tmp_path))
    try:
        who = auth.lookup(conn, token)
        assert who is not None and who.name == "li.wei" and who.scopes == {"staff", "hq"}
        assert token not in json.dumps([list(r) for r in conn.execute("SELECT * FROM api_tokens")])
    finally:
        conn.close()


def test_list_and_revoke(tmp_path: Path) -> None:
    run(tmp_path, "create", "a", "--scope", "admin")
    run(tmp_path, "create", "b", "--scope", "staff")
    code, out, _ = run(tmp_path, "list", "--json")
    assert code == 0
    assert [(t["name"], t["scopes"]) for t in json.loads(out)] == [
        ("a", ["admin"]),
        ("b", ["staff"]),
    ]
    code, _, err = run(tmp_path, "revoke", "b")
    assert code == 0 and "revoked b" in err
    code, out, _ = run(tmp_path, "list", "--json")
    assert [t["name"] for t in json.loads(out)] == ["a"]
    code, out, _ = run(tmp_path, "list", "--revoked")
    assert code == 0 and "b" in out
    code, _, err = run(tmp_path, "revoke", "b")
    assert code == 1 and "no active token" in err


def test_bad_input_is_refused_clearly(tmp_path: Path) -> None:
    code, _, err = run(tmp_path, "create", "x", "--scope", "root")
    assert code == 2 and "root" in err
    code, _, err = run(tmp_path, "create", "x")
    assert code == 2 and "--scope" in err
    code, _, err = run(tmp_path, "create", "no spaces", "--scope", "staff")
    assert code == 1 and "bad token name" in err
    run(tmp_path, "create", "dup", "--scope", "staff")
    code, _, err = run(tmp_path, "create", "dup", "--scope", "staff")
    assert code == 1 and "exists" in err
