"""The store's known plates (members' cars) and the tolerant lookup of a read plate.

OCR gets a character wrong now and then (most often the province character, or 0/D,
8/B), so a read plate matches a known one within ``max_distance`` edits, where a
substitution between characters OCR confuses costs half (``format.distance``).
Two known plates equally close to a read is no match at all: a VIP alert for the
wrong person is worse than none.

Reads are a dictionary look-up in memory (the table is small); writes go through the
hub's single journal writer.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator

from pydantic import BaseModel, ConfigDict, Field

from vision.errors import VisionError
from vision.plates.format import distance, parse


class KnownPlate(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    plate: str
    member: str | None = None
    label: str | None = None
    tier: str | None = None
    account_manager: str | None = None
    added: float = 0.0


class Match(BaseModel):
    model_config = ConfigDict(frozen=True)

    known: KnownPlate
    distance: float = Field(ge=0)


class KnownPlates:
    def __init__(self, plates: Iterable[KnownPlate] = (), *, max_distance: float = 1.0) -> None:
        self.max_distance = max_distance
        self._plates: dict[str, KnownPlate] = {p.plate: p for p in plates}

    def __len__(self) -> int:
        return len(self._plates)

    def __iter__(self) -> Iterator[KnownPlate]:
        return iter(list(self._plates.values()))

    def put(self, plate: KnownPlate) -> None:
        self._plates[plate.plate] = plate

    def remove(self, plate: str) -> bool:
        return self._plates.pop(plate, None) is not None

    def lookup(self, plate: str) -> Match | None:
        """The known plate ``plate`` is (exactly, or within the tolerance), or ``None``."""
        exact = self._plates.get(plate)
        if exact is not None:
            return Match(known=exact, distance=0.0)
        best: list[tuple[float, KnownPlate]] = []
        for known in list(self._plates.values()):
            # Lengths differing by more than the tolerance cannot match: skip the DP.
            if abs(len(known.plate) - len(plate)) > self.max_distance:
                continue
            d = distance(plate, known.plate)
            if d <= self.max_distance:
                best.append((d, known))
        if not best:
            return None
        best.sort(key=lambda b: b[0])
        if len(best) > 1 and best[1][0] == best[0][0]:
            return None  # ambiguous
        return Match(known=best[0][1], distance=best[0][0])


def normalised_known(
    plate: str,
    *,
    member: str | None = None,
    label: str | None = None,
    tier: str | None = None,
    account_manager: str | None = None,
    clock: Callable[[], float] = time.time,
) -> KnownPlate:
    """A known plate from user input; :class:`VisionError` if it is not a plate."""
    info = parse(plate)
    if not info.valid:
        raise VisionError(f"{plate!r} is not a Chinese mainland plate")
    return KnownPlate(
        plate=info.plate, member=member, label=label, tier=tier,
        account_manager=account_manager, added=clock(),
    )  # fmt: skip


def load(conn: sqlite3.Connection) -> list[KnownPlate]:
    rows = conn.execute(
        "SELECT plate, member, label, tier, account_manager, added FROM vision_plates"
    ).fetchall()
    return [
        KnownPlate(plate=r[0], member=r[1], label=r[2], tier=r[3], account_manager=r[4],
                   added=r[5])
        for r in rows
    ]  # fmt: skip


def save(conn: sqlite3.Connection, p: KnownPlate) -> None:
    conn.execute(
        "INSERT INTO vision_plates (plate, member, label, tier, account_manager, added)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(plate) DO UPDATE SET member=excluded.member,"
        " label=excluded.label, tier=excluded.tier, account_manager=excluded.account_manager",
        (p.plate, p.member, p.label, p.tier, p.account_manager, p.added),
    )


def delete(conn: sqlite3.Connection, plate: str) -> int:
    return conn.execute("DELETE FROM vision_plates WHERE plate = ?", (plate,)).rowcount
