"""The item catalog: GTIN → item (name, price, unit, tax), kept in the hub's SQLite.

Reads are a dictionary look-up: the ``items`` table is loaded into memory at
start, because the callers are on the event loop (a gate naming the item in an
``unpaid_exit`` alert, a kiosk pricing a scan).  Writes go through the journal's
single writer (:meth:`Catalog.upsert`), then into the dictionary.

A store ships a seed file (``configs/catalog.toml``, see :func:`parse_catalog`)
that is upserted at start; items that reached the database another way (cloud
sync, the store API) stay, so the file is a seed, not the whole truth.

Keys are GTIN-14: a GTIN-8/12/13 is left-padded with zeros, as GS1 prescribes,
so ``6901234567892`` and ``06901234567892`` are the same item.  Prices are
integers in minor units (fen, cents); in the file they are written as decimal
strings in major units (``price = "12.50"``) or as ``price_minor = 1250`` —
never as TOML floats, which cannot hold money exactly.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import sqlite3
import time
import tomllib
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from hub.errors import ConfigError
from hub.journal import Journal

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = [
    "Catalog",
    "CatalogError",
    "GtinError",
    "Item",
    "gtin_check_digit",
    "normalise_gtin",
    "parse_catalog",
    "shared_catalog",
]

#: Digits after the decimal point of currencies that do not use 2 (ISO 4217).
_MINOR_DIGITS: dict[str, int] = {
    "JPY": 0,
    "KRW": 0,
    "VND": 0,
    "CLP": 0,
    "ISK": 0,
    "UGX": 0,
    "BHD": 3,
    "KWD": 3,
    "OMR": 3,
    "JOD": 3,
    "TND": 3,
    "IQD": 3,
    "LYD": 3,
}


class GtinError(ValueError):
    """Not a GTIN: wrong length, not digits, or a wrong check digit."""


class CatalogError(ConfigError):
    """A catalog file that cannot be read; the message names the file and the key."""


def gtin_check_digit(body: str) -> str:
    """The GS1 mod-10 check digit of a GTIN without its last digit."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return str(-total % 10)


def normalise_gtin(code: str) -> str:
    """A GTIN-8/12/13/14 as GTIN-14; :class:`GtinError` if it is not a valid GTIN."""
    digits = code.strip()
    if not digits.isascii() or not digits.isdigit() or len(digits) not in (8, 12, 13, 14):
        raise GtinError(f"{code!r} is not a GTIN (8, 12, 13 or 14 digits)")
    if gtin_check_digit(digits[:-1]) != digits[-1]:
        raise GtinError(f"{code!r}: wrong check digit (expected {gtin_check_digit(digits[:-1])})")
    return digits.zfill(14)


def minor_digits(currency: str) -> int:
    return _MINOR_DIGITS.get(currency, 2)


class Item(BaseModel):
    """One catalog item. ``price`` is in minor units of ``currency`` (per kg if ``unit="kg"``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    gtin: str
    name: str = Field(min_length=1, max_length=200)
    price: int = Field(ge=0)
    currency: str = Field(default="CNY", pattern=r"^[A-Z]{3}$")
    unit: Literal["each", "kg"] = "each"
    weight_g: float | None = Field(default=None, gt=0)
    age_restricted: bool = False
    tax_rate: Decimal | None = Field(default=None, ge=0, lt=1)

    @field_validator("gtin", mode="before")
    @classmethod
    def _gtin14(cls, value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError("gtin must be a string of digits")
        return normalise_gtin(value)

    def price_text(self) -> str:
        """The price in major units, e.g. ``"12.50"``."""
        digits = minor_digits(self.currency)
        return f"{Decimal(self.price).scaleb(-digits):.{digits}f}"


class _FileItem(BaseModel):
    """One ``[[items]]`` entry of a catalog file."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    gtin: str
    name: str
    price: str | None = Field(default=None, pattern=r"^\d{1,9}(\.\d{1,3})?$")
    price_minor: int | None = Field(default=None, ge=0)
    currency: str | None = None
    unit: Literal["each", "kg"] = "each"
    weight_g: float | int | None = None
    age_restricted: bool = False
    tax_rate: str | None = None


class _File(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    #: Defaults for the items that do not say.
    currency: str = "CNY"
    tax_rate: str | None = None
    items: list[dict[str, Any]] = Field(default_factory=list)


def parse_catalog(text: str, source: str = "catalog") -> list[Item]:
    """Parse a catalog TOML document; :class:`CatalogError` names the item and key."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{source}: not valid TOML: {exc}") from None
    try:
        doc = _File.model_validate(raw)
    except ValidationError as exc:
        raise CatalogError(f"{source}: {_first(exc)}") from None
    items: list[Item] = []
    seen: set[str] = set()
    for index, entry in enumerate(doc.items):
        where = f"{source}: items[{index}] (gtin={entry.get('gtin', '?')})"
        try:
            item = _item(_FileItem.model_validate(entry), doc)
        except ValidationError as exc:
            raise CatalogError(f"{where}.{_first(exc)}") from None
        except (ValueError, InvalidOperation) as exc:
            raise CatalogError(f"{where}: {exc}") from None
        if item.gtin in seen:
            raise CatalogError(f"{where}: GTIN {item.gtin} is listed twice")
        seen.add(item.gtin)
        items.append(item)
    return items


def _item(entry: _FileItem, doc: _File) -> Item:
    currency = entry.currency or doc.currency
    if (entry.price is None) == (entry.price_minor is None):
        raise ValueError('give exactly one of price ("12.50") and price_minor (1250)')
    if entry.price is not None:
        scaled = Decimal(entry.price).scaleb(minor_digits(currency))
        if scaled != scaled.to_integral_value():
            raise ValueError(f"price {entry.price} has more decimals than {currency} allows")
        price = int(scaled)
    else:
        assert entry.price_minor is not None
        price = entry.price_minor
    tax = entry.tax_rate if entry.tax_rate is not None else doc.tax_rate
    return Item(
        gtin=entry.gtin,
        name=entry.name,
        price=price,
        currency=currency,
        unit=entry.unit,
        weight_g=entry.weight_g,
        age_restricted=entry.age_restricted,
        tax_rate=Decimal(tax) if tax is not None else None,
    )


def _first(exc: ValidationError) -> str:
    err = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in err["loc"]) or "(top level)"
    return f"{where}: {str(err['msg']).removeprefix('Value error, ')}"


class Catalog:
    """The catalog of one hub: in-memory reads, writes through the journal."""

    def __init__(self, journal: Journal, *, clock: Callable[[], float] = time.time) -> None:
        self._journal = journal
        self._clock = clock
        self._items: dict[str, Item] = {}

    def get(self, code: str) -> Item | None:
        """The item of a GTIN-8/12/13/14; ``None`` if unknown or not a GTIN."""
        item = self._items.get(code)
        if item is not None:
            return item
        try:
            return self._items.get(normalise_gtin(code))
        except GtinError:
            return None

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Item]:
        return iter(self._items.values())

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and self.get(code) is not None

    async def load(self) -> int:
        """(Re)load every item from the database; returns how many."""
        rows = await self._journal.call(
            lambda c: c.execute(
                "SELECT gtin, name, price, currency, unit, weight_g, age_restricted, tax_rate"
                " FROM items"
            ).fetchall()
        )
        self._items = {row[0]: _from_row(row) for row in rows}
        return len(self._items)

    async def upsert(self, items: Iterable[Item]) -> int:
        """Insert or replace items (by GTIN); returns how many were written."""
        batch = list(items)
        now = self._clock()
        rows = [
            (
                i.gtin,
                i.name,
                i.price,
                i.currency,
                i.unit,
                i.weight_g,
                int(i.age_restricted),
                None if i.tax_rate is None else str(i.tax_rate),
                now,
            )
            for i in batch
        ]

        def write(conn: sqlite3.Connection) -> None:
            conn.executemany(
                "INSERT INTO items(gtin, name, price, currency, unit, weight_g, age_restricted,"
                " tax_rate, updated) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(gtin) DO UPDATE SET"
                " name=excluded.name, price=excluded.price, currency=excluded.currency,"
                " unit=excluded.unit, weight_g=excluded.weight_g,"
                " age_restricted=excluded.age_restricted, tax_rate=excluded.tax_rate,"
                " updated=excluded.updated",
                rows,
            )

        await self._journal.call(write)
        for item in batch:
            self._items[item.gtin] = item
        return len(batch)

    async def remove(self, gtins: Iterable[str]) -> int:
        """Delete items; returns how many existed."""
        keys = [normalise_gtin(g) for g in gtins]

        def write(conn: sqlite3.Connection) -> int:
            return sum(
                conn.execute("DELETE FROM items WHERE gtin = ?", (k,)).rowcount for k in keys
            )

        removed = await self._journal.call(write)
        for key in keys:
            self._items.pop(key, None)
        return removed

    async def load_file(self, path: Path) -> int:
        """Upsert the items of a catalog file; :class:`CatalogError` if it is bad."""
        try:
            text = await asyncio.to_thread(path.read_text, encoding="utf-8")
        except OSError as exc:
            raise CatalogError(f"{path}: cannot read: {exc}") from None
        # Parsing a large catalog takes a while: not on the event loop.
        items = await asyncio.to_thread(parse_catalog, text, str(path))
        return await self.upsert(items)

    async def load_seed(self, path: Path) -> int | None:
        """Load a seed catalog file (``configs/catalog.toml``) if its content changed since
        it was last loaded; None when unchanged. Items HQ published since the last load
        are kept over a restart; editing the file is what makes its values win again."""
        try:
            raw = await asyncio.to_thread(path.read_bytes)
        except OSError as exc:
            raise CatalogError(f"{path}: cannot read: {exc}") from None
        digest = hashlib.sha256(raw).hexdigest()
        key = await asyncio.to_thread(os.path.abspath, path)
        row = await self._journal.call(
            lambda c: c.execute(
                "SELECT sha256 FROM catalog_seeds WHERE path = ?", (key,)
            ).fetchone()
        )
        if row is not None and row[0] == digest:
            return None
        n = await self.load_file(path)
        now = self._clock()
        await self._journal.call(
            lambda c: c.execute(
                "INSERT OR REPLACE INTO catalog_seeds(path, sha256, items, loaded)"
                " VALUES (?,?,?,?)",
                (key, digest, n, now),
            )
        )
        return n


def shared_catalog(hub: Hub) -> Catalog:
    """The hub's one in-memory catalog, created and provided on first use: the gates, the
    checkout, the shelf labels and cloud sync must all read and update the same one."""
    found = hub.service(Catalog)
    if found is None:
        found = Catalog(hub.journal, clock=hub.clock)
        hub.provide(found)
    return found


def _from_row(row: tuple[Any, ...]) -> Item:
    gtin, name, price, currency, unit, weight_g, age_restricted, tax_rate = row
    # Rows were validated on the way in; model_construct skips re-validating thousands.
    return Item.model_construct(
        gtin=gtin,
        name=name,
        price=price,
        currency=currency,
        unit=unit,
        weight_g=weight_g,
        age_restricted=bool(age_restricted),
        tax_rate=None if tax_rate is None else Decimal(tax_rate),
    )
