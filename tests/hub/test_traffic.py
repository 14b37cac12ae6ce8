"""hub/traffic.py: entries and exits per door per hour from the journal."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hub.db import connect_reader
from hub.journal import Entry, Journal
from hub.traffic import HourCount, hourly, totals

SHANGHAI = ZoneInfo("Asia/Shanghai")
# 2025-03-01 09:00 in Shanghai (UTC+8).
NINE = datetime(2025, 3, 1, 9, tzinfo=SHANGHAI).timestamp()


@pytest.fixture
async def db_path(tmp_path: Path) -> AsyncIterator[Path]:
    path = tmp_path / "hub.db"
    journal = Journal(path)
    await journal.open()
    task = asyncio.create_task(journal.run())

    def devices(c: sqlite3.Connection) -> None:
        for dev, kind in (("door-in", "door"), ("door-out", "door"), ("kiosk-1", "kiosk")):
            c.execute("INSERT INTO devices(id, kind, config) VALUES (?,?,'{}')", (dev, kind))

    await journal.call(devices)
    passages = [
        ("door-in", NINE + 60, "in"),
        ("door-in", NINE + 120, "in"),
        ("door-in", NINE + 300, "out"),
        ("door-out", NINE + 1800, "out"),
        ("door-out", NINE + 3599, "out"),
        ("door-in", NINE + 3600, "in"),  # 10:00
        ("door-in", NINE + 7300, "in"),  # 11:01
        ("kiosk-1", NINE + 60, "in"),  # not a door (a made-up event of the same name)
    ]
    for seq, (dev, ts, direction) in enumerate(passages, start=1):
        await journal.append(
            Entry(
                type="event",
                ts=ts,
                device=dev,
                name="passage",
                seq=seq,
                data=json.dumps({"ts": ts, "seq": seq, "direction": direction}),
            )
        )
    await journal.append(
        Entry(
            type="event",
            ts=NINE,
            device="door-in",
            name="door",
            seq=99,
            data=json.dumps({"ts": NINE, "seq": 99, "open": True}),
        )
    )
    await journal.flush()
    yield path
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    journal.close()


def at(hour: int, tz: ZoneInfo = SHANGHAI) -> datetime:
    return datetime(2025, 3, 1, hour, tzinfo=tz)


def test_hourly_per_door_in_store_time(db_path: Path) -> None:
    db = connect_reader(db_path)
    counts = hourly(db, tz="Asia/Shanghai")
    assert counts == [
        HourCount("door-in", at(9), entries=2, exits=1),
        HourCount("door-out", at(9), entries=0, exits=2),
        HourCount("door-in", at(10), entries=1, exits=0),
        HourCount("door-in", at(11), entries=1, exits=0),
    ]
    assert counts[0].hour.hour == 9 and counts[0].total == 3
    assert totals(counts) == {"door-in": (4, 1), "door-out": (0, 2)}
    # A period (until is exclusive) and a door.
    assert hourly(db, since=NINE + 3600, until=NINE + 7300, tz=SHANGHAI) == [
        HourCount("door-in", at(10), entries=1, exits=0)
    ]
    assert [c.door for c in hourly(db, doors=["door-out"], tz=SHANGHAI)] == ["door-out"]
    db.close()


def test_half_hour_time_zones_are_counted_right(db_path: Path) -> None:
    # Kolkata is UTC+5:30: 09:00 Shanghai = 06:30 Kolkata, so 09:30 Shanghai is 07:00 there.
    db = connect_reader(db_path)
    kolkata = ZoneInfo("Asia/Kolkata")
    counts = hourly(db, tz=kolkata, doors=["door-out"])
    assert counts == [
        HourCount("door-out", datetime(2025, 3, 1, 7, tzinfo=kolkata), entries=0, exits=2)
    ]
    counts = hourly(db, tz=kolkata, doors=["door-in"])
    assert [(c.hour.hour, c.hour.minute, c.entries) for c in counts] == [
        (6, 0, 2),
        (7, 0, 1),
        (8, 0, 1),
    ]
    db.close()
