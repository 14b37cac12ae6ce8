"""Footfall: entries and exits per door per hour, from the journal's ``door`` ``passage`` events.

A query, not a counter kept on the side: the journal already holds every
passage (deduplicated by ``(device, seq)``), so the counts are always exactly
what was received, and any period can be asked after the fact (within the
journal's retention).  Read-only; safe beside a running hub (WAL).

Hours are the store's local hours (``[store] timezone``).  SQLite groups the
passages into 15-minute UTC buckets — every time zone's offset is a multiple
of 15 minutes — and Python folds those into local hours, so zones such as
Asia/Kolkata (+5:30) and days with a DST change are counted right.
Passages are placed by their ``ts`` (the door's time of the passage).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

__all__ = ["HourCount", "hourly", "totals"]

_BUCKET = 900  # seconds


@dataclass(frozen=True, slots=True)
class HourCount:
    door: str
    #: Start of the hour, aware, in the store's time zone.
    hour: datetime
    entries: int
    exits: int

    @property
    def total(self) -> int:
        return self.entries + self.exits


def hourly(
    db: sqlite3.Connection,
    *,
    since: float | None = None,
    until: float | None = None,
    doors: Sequence[str] | None = None,
    tz: str | tzinfo = "UTC",
) -> list[HourCount]:
    """Entries (``direction = "in"``) and exits (``"out"``) per door and local hour,
    ordered by hour then door; hours without passages are left out."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    where = ["j.type = 'event'", "j.name = 'passage'", "d.kind = 'door'"]
    args: list[object] = []
    if since is not None:
        where.append("j.ts >= ?")
        args.append(since)
    if until is not None:
        where.append("j.ts < ?")
        args.append(until)
    if doors:
        where.append(f"j.device IN ({','.join('?' * len(doors))})")
        args.extend(doors)
    rows = db.execute(
        f"SELECT j.device, CAST(j.ts / {_BUCKET} AS INTEGER) AS bucket,"
        " json_extract(j.data, '$.direction') AS direction, COUNT(*)"
        " FROM journal j JOIN devices d ON d.id = j.device"
        f" WHERE {' AND '.join(where)} GROUP BY j.device, bucket, direction",
        args,
    ).fetchall()
    counts: dict[tuple[float, str], list[int]] = {}
    hours: dict[float, datetime] = {}
    for device, bucket, direction, n in rows:
        start = _local_hour(bucket * _BUCKET, zone)
        key = start.timestamp()  # DST-safe key: the two 01:00s of a fall-back day differ
        hours[key] = start
        pair = counts.setdefault((key, device), [0, 0])
        if direction == "in":
            pair[0] += n
        elif direction == "out":
            pair[1] += n
    return [
        HourCount(door=door, hour=hours[key], entries=pair[0], exits=pair[1])
        for (key, door), pair in sorted(counts.items())
    ]


def totals(counts: Sequence[HourCount]) -> dict[str, tuple[int, int]]:
    """Entries and exits per door over all the hours given."""
    out: dict[str, tuple[int, int]] = {}
    for c in counts:
        entries, exits = out.get(c.door, (0, 0))
        out[c.door] = (entries + c.entries, exits + c.exits)
    return out


def _local_hour(ts: float, zone: tzinfo) -> datetime:
    return datetime.fromtimestamp(ts, zone).replace(minute=0, second=0, microsecond=0)
