"""``storehub sync status`` (read-only, no hub running), ``push-now`` and ``quarantine``."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.journal import Journal
from hub.sync import ChangesPage
from hub.sync.cli import app
from simulators.cloud import CloudServer
from tests.hub.sync.conftest import TOKEN, make_sync, write
from tests.hub.sync.test_inbox import make_inbox, member

runner = CliRunner()


def store_file(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "store.toml"
    path.write_text(
        f'[store]\nid = "s1"\n\n[sync]\nenabled = true\nurl = "{url}"\nbudget_bytes = 100000\n',
        encoding="utf-8",
    )
    return path


async def fill(data: Path, url: str) -> None:
    journal = Journal(data / "hub.db")
    await journal.open()
    writer = asyncio.create_task(journal.run())
    await write(journal, "sales", 5)
    await journal.flush()
    async with make_sync(journal, url) as sync:
        await sync.drain()
    await write(journal, "sales", 3, start=5)
    await write(journal, "traffic", 4)
    await make_inbox(journal).apply(
        ChangesPage(changes=[member(1, "m1", "ok"), member(2, "m2", "")], cursor=2)
    )
    writer.cancel()
    await asyncio.gather(writer, return_exceptions=True)
    journal.close()


@pytest.fixture
def data(tmp_path: Path, cloud: CloudServer) -> Path:
    path = tmp_path / "data"
    asyncio.run(fill(path, cloud.url))
    return path


def test_status_reads_the_database_alone(tmp_path: Path, cloud: CloudServer, data: Path) -> None:
    args = ["--config", str(store_file(tmp_path, cloud.url)), "--data-dir", str(data)]
    result = runner.invoke(app, ["status", *args, "--json"])
    assert result.exit_code == 0, result.output
    st = json.loads(result.output)
    streams = {s["stream"]: s for s in st["streams"]}
    assert streams["sales"]["pending_rows"] == 3 and streams["sales"]["acked_rows"] == 5
    assert streams["traffic"]["pending_rows"] == 4
    assert st["pending_rows"] == 7 and 0 < st["budget_ratio"] < 1
    assert st["inbox_cursor"] == 2 and st["inbox_quarantined"] == 1
    text = runner.invoke(app, ["status", *args])
    assert text.exit_code == 0, text.output
    assert "sales" in text.output and "1 quarantined" in text.output
    quarantined = runner.invoke(app, ["quarantine", *args, "--json"])
    assert json.loads(quarantined.output)[0]["reason"].startswith("name:")


def test_push_now_uploads_what_is_pending(
    tmp_path: Path, cloud: CloudServer, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STOREHUB_SYNC_TOKEN", TOKEN)
    args = ["--config", str(store_file(tmp_path, cloud.url)), "--data-dir", str(data)]
    result = runner.invoke(app, ["push-now", *args])
    assert result.exit_code == 0, result.output
    assert "7 rows acknowledged" in result.output
    assert cloud.store.stats().records == 12


def test_status_without_a_database_fails_cleanly(tmp_path: Path) -> None:
    args = [
        "--config",
        str(store_file(tmp_path, "https://cloud.example")),
        "--data-dir",
        str(tmp_path / "nothing"),
    ]
    result = runner.invoke(app, ["status", *args])
    assert result.exit_code == 2 and "no hub database" in result.output


def test_quarantine_list_and_retry(tmp_path: Path, cloud: CloudServer, data: Path) -> None:
    args = ["--config", str(store_file(tmp_path, cloud.url)), "--data-dir", str(data)]
    listed = runner.invoke(app, ["quarantine", "list", *args, "--json"])
    assert listed.exit_code == 0, listed.output
    assert [(r["version"], r["type"], r["key"]) for r in json.loads(listed.output)] == [
        (2, "member", "m2")
    ]
    # Still invalid (an empty name): kept, and the exit status says so.
    again = runner.invoke(app, ["quarantine", "retry", "2", *args, "--json"])
    assert again.exit_code == 3, again.output
    assert json.loads(again.output)[0]["outcome"] == "quarantined"
    assert json.loads(again.output)[0]["reason"].startswith("name:")
    missing = runner.invoke(app, ["quarantine", "retry", "7", *args])
    assert missing.exit_code == 1 and "nothing quarantined as version 7" in missing.output

    async def fix_and_supersede() -> None:  # HQ sent a good m2 meanwhile
        journal = Journal(data / "hub.db")
        await journal.open()
        writer = asyncio.create_task(journal.run())
        await make_inbox(journal).apply(ChangesPage(changes=[member(3, "m2", "Han")], cursor=3))
        writer.cancel()
        await asyncio.gather(writer, return_exceptions=True)
        journal.close()

    asyncio.run(fix_and_supersede())
    done = runner.invoke(app, ["quarantine", "retry", *args])
    assert done.exit_code == 0, done.output
    assert "superseded" in done.output
    empty = runner.invoke(app, ["quarantine", *args, "--json"])
    assert json.loads(empty.output) == []
