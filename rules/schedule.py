"""Durations (``"10m"``, ``"1h30m"``, ``90``) and cron schedules in the store's timezone.

Cron has the usual five fields — minute, hour, day of month, month, day of week —
each ``*``, ``n``, ``a-b``, ``*/k``, ``a-b/k`` or a comma list; months and
weekdays also by name (``jan``, ``mon-fri``).  As in classic cron, when both day
fields are restricted a day matches if *either* does.  Times are wall-clock in
the store's zone; in a DST gap a time that does not exist runs at the shifted
instant, in a repeated hour it runs once.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, tzinfo
from typing import Annotated, Any

from pydantic import BeforeValidator

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(value: Any) -> float:
    """Seconds from ``"500ms"``, ``"30s"``, ``"10m"``, ``"1h30m"``, ``"2d"`` or a number."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or a string like '10m'")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.replace(" ", "").lower()
        pos, seconds = 0, 0.0
        for m in _DURATION.finditer(text):
            if m.start() != pos:
                break
            seconds += float(m.group(1)) * _UNITS[m.group(2)]
            pos = m.end()
        if not text or pos != len(text):
            raise ValueError(f"{value!r} is not a duration (e.g. '500ms', '30s', '10m', '1h30m')")
    else:
        raise ValueError("a duration is a number of seconds or a string like '10m'")
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    return seconds


#: A field holding a duration in seconds, written as a number or ``"10m"``.
Duration = Annotated[float, BeforeValidator(parse_duration)]

_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]


def _field(text: str, low: int, high: int, names: list[str], base: int) -> frozenset[int]:
    values: set[int] = set()

    def number(tok: str) -> int:
        tok = tok.lower()
        if tok in names:
            return names.index(tok) + base
        if not tok.isdigit():
            raise ValueError(f"{tok!r} is not a number")
        return int(tok)

    for part in text.split(","):
        rng, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if step_text and (not step_text.isdigit() or step < 1):
            raise ValueError(f"bad step {step_text!r}")
        if rng == "*":
            start, end = low, high
        elif "-" in rng:
            a, b = rng.split("-", 1)
            start, end = number(a), number(b)
        else:
            start = number(rng)
            end = high if step_text else start
        if not (low <= start <= high and low <= end <= high and start <= end):
            raise ValueError(f"{part!r} is outside {low}-{high}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


class Cron:
    def __init__(self, expression: str) -> None:
        fields = expression.split()
        if len(fields) != 5:
            raise ValueError(f"cron {expression!r} needs 5 fields: minute hour day month weekday")
        try:
            self.minutes = _field(fields[0], 0, 59, [], 0)
            self.hours = _field(fields[1], 0, 23, [], 0)
            self.days = _field(fields[2], 1, 31, [], 0)
            self.months = _field(fields[3], 1, 12, _MONTHS, 1)
            dow = _field(fields[4], 0, 7, _DAYS, 0)
        except ValueError as exc:
            raise ValueError(f"cron {expression!r}: {exc}") from None
        self.weekdays = frozenset(d % 7 for d in dow)  # 7 is Sunday too
        self._any_day = fields[2] == "*"
        self._any_weekday = fields[4] == "*"
        self.expression = expression

    def _day_matches(self, day: datetime) -> bool:
        if day.month not in self.months:
            return False
        by_day = day.day in self.days
        by_weekday = (day.isoweekday() % 7) in self.weekdays
        if self._any_day or self._any_weekday:
            return by_day and by_weekday
        return by_day or by_weekday

    def next_after(self, ts: float, tz: tzinfo) -> float:
        """The first matching minute strictly after ``ts`` (epoch seconds)."""
        start = datetime.fromtimestamp(ts, tz).replace(tzinfo=None, second=0, microsecond=0)
        start += timedelta(minutes=1)
        day = start.replace(hour=0, minute=0)
        for _ in range(366 * 5):  # 29 February can be four years away
            if self._day_matches(day):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        wall = day.replace(hour=hour, minute=minute)
                        if wall < start:
                            continue
                        when = wall.replace(tzinfo=tz).timestamp()
                        if when > ts:
                            return when
            day += timedelta(days=1)
        raise ValueError(f"cron {self.expression!r} never fires")
