"""Built-in inbox appliers: what a published change does to the store's database.

An applier is ``fn(conn, change) -> None``, run in the journal's writer inside
a savepoint of its own: it validates ``change.data`` (a pydantic model) and
writes.  Raising anything — a ``ValidationError``, :class:`ChangeRejected` —
rolls the change back and quarantines it with the reason; nothing is
half-applied.  Appliers are idempotent (upserts, version-guarded), so a
re-delivered change is harmless even past the inbox cursor's own guard.

Types handled here: ``member`` and ``plate`` (this package's tables);
``catalog.item`` (the ``items`` table, validated by hub/catalog.py's ``Item``);
``price`` (the shelf-label price book's ``esl_prices``, hub/esl/published.py);
``promotion`` (validated by hub/pricing's models; the checkout prices baskets with
them); ``device`` (provisioning, hub/sync/devices.py).  Prices, promotions and
devices are also kept as the latest document per key in ``sync_documents``.  Each
can be replaced by registering another applier for its type.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hub.catalog import GtinError, Item, normalise_gtin
from hub.esl.prices import ANY, PriceRow
from hub.esl.published import publish_price, sync_batch, withdraw_prices
from hub.pricing.promotions import parse_promotions
from hub.sync.devices import apply_device
from hub.sync.errors import ChangeRejected
from hub.sync.protocol import Change
from hub.sync.store import put_document, stale
from hub.unmanned.tokens import load_public_key

Applier = Callable[[sqlite3.Connection, Change], None]


class Payload(BaseModel):
    # HQ may send more than the store uses: unknown fields are ignored, as on the wire.
    model_config = ConfigDict(frozen=True, extra="ignore")


class MemberData(Payload):
    name: str = Field(min_length=1, max_length=200)
    tier: str | None = Field(default=None, max_length=40)
    vip: bool = False
    #: Staff id of the account manager a VIP arrival is announced to.
    account_manager: str | None = None
    #: Card-on-file / deduction agreement tokens: open an unmanned-store session at the
    #: door (docs/unmanned.md) and are charged at its exit.
    cards: list[str] = Field(default_factory=list, max_length=10)


class EntryKeyData(Payload):
    """A public key that signs unmanned-store entry tokens (key = its key id)."""

    public_key: str

    @field_validator("public_key")
    @classmethod
    def _ed25519(cls, value: str) -> str:
        load_public_key(value)  # ValueError names what is wrong
        return value


class PlateData(Payload):
    member_id: str = Field(min_length=1, max_length=200)


class PriceData(Payload):
    price: int = Field(ge=0)
    member_price: int | None = Field(default=None, ge=0)
    currency: str = Field(default="CNY", pattern=r"^[A-Z]{3}$")
    #: Takes effect at this time (epoch seconds); none = at once.
    effective_at: float | None = None
    #: Store group the price is for (business district, school, ...); none = every group.
    group: str | None = None


_PLATE = re.compile(r"^[0-9A-Z\u4e00-\u9fff]{2,12}$")
_PLATE_NOISE = re.compile(r"[\s.·\-]")


def normalize_plate(text: str) -> str:
    """``京a·12345`` → ``京A12345``: the form plate cameras and HQ lists are compared in."""
    return _PLATE_NOISE.sub("", text).upper()


def gtin14(text: str) -> str:
    """A GTIN-8/12/13/14 as GTIN-14 (hub/catalog.py's rule); :class:`ChangeRejected` if not one."""
    try:
        return normalise_gtin(text)
    except GtinError as exc:
        raise ChangeRejected(str(exc)) from None


def _updated(change: Change) -> float:
    return change.published if change.published is not None else time.time()


def apply_member(conn: sqlite3.Connection, change: Change) -> None:
    if change.op == "delete":
        conn.execute("DELETE FROM sync_members WHERE id = ?", (change.key,))
        # A plate that points at nobody would only announce a ghost.
        conn.execute("DELETE FROM sync_plates WHERE member_id = ?", (change.key,))
        return
    m = MemberData.model_validate(change.data)
    conn.execute(
        "INSERT INTO sync_members(id, name, tier, vip, account_manager, data, version)"
        " VALUES (?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET name = excluded.name,"
        " tier = excluded.tier, vip = excluded.vip, account_manager = excluded.account_manager,"
        " data = excluded.data, version = excluded.version WHERE excluded.version > version",
        (
            change.key,
            m.name,
            m.tier,
            int(m.vip),
            m.account_manager,
            json.dumps(change.data),
            change.version,
        ),
    )


def apply_plate(conn: sqlite3.Connection, change: Change) -> None:
    plate = normalize_plate(change.key)
    if not _PLATE.match(plate):
        raise ChangeRejected(f"{change.key!r} is not a licence plate")
    if change.op == "delete":
        conn.execute("DELETE FROM sync_plates WHERE plate = ?", (plate,))
        return
    p = PlateData.model_validate(change.data)
    conn.execute(
        "INSERT INTO sync_plates(plate, member_id, version) VALUES (?,?,?)"
        " ON CONFLICT(plate) DO UPDATE SET member_id = excluded.member_id,"
        " version = excluded.version WHERE excluded.version > version",
        (plate, p.member_id, change.version),
    )


def apply_catalog_item(conn: sqlite3.Connection, change: Change) -> None:
    """Into ``items``, validated by hub/catalog.py's own :class:`~hub.catalog.Item`; the
    hub's in-memory :class:`~hub.catalog.Catalog` reloads after the page commits
    (see :meth:`hub.sync.inbox.Inbox.on_applied`)."""
    gtin = gtin14(change.key)
    if change.op == "delete":
        conn.execute("DELETE FROM items WHERE gtin = ?", (gtin,))
        return
    known = {k: v for k, v in change.data.items() if k in Item.model_fields}
    item = Item.model_validate({**known, "gtin": gtin})
    conn.execute(
        "INSERT OR REPLACE INTO items(gtin, name, price, currency, unit, weight_g,"
        " age_restricted, tax_rate, updated) VALUES (?,?,?,?,?,?,?,?,?)",
        (
            item.gtin,
            item.name,
            item.price,
            item.currency,
            item.unit,
            item.weight_g,
            int(item.age_restricted),
            None if item.tax_rate is None else str(item.tax_rate),
            _updated(change),
        ),
    )


def document_applier(model: type[Payload], *, key: Callable[[str], str] = str) -> Applier:
    """An applier that validates with ``model`` and keeps the latest document per key."""

    def apply(conn: sqlite3.Connection, change: Change) -> None:
        data = None
        if change.op != "delete":
            data = model.model_validate(change.data).model_dump_json()
        put_document(conn, change, key(change.key), data)

    return apply


def apply_price(conn: sqlite3.Connection, change: Change) -> None:
    """Into the shelf-label price book (``esl_prices``, batch ``sync:<version>``; see
    hub/esl/published.py), and the latest document per GTIN; a delete withdraws HQ's
    rows of the GTIN.  The running ESL service reloads after the page commits."""
    gtin = gtin14(change.key)
    if stale(conn, change.type, gtin, change.version):
        return  # a later price of this item is in force already
    if change.op == "delete":
        withdraw_prices(conn, gtin)
        put_document(conn, change, gtin, None)
        return
    p = PriceData.model_validate(change.data)
    row = PriceRow(
        gtin,
        p.price,
        p.currency,
        p.effective_at if p.effective_at is not None else _updated(change),
        p.group or ANY,
        ANY,
        sync_batch(change.version),
    )
    publish_price(conn, row, time.time())
    put_document(conn, change, gtin, p.model_dump_json())


def apply_promotion(conn: sqlite3.Connection, change: Change) -> None:
    """Validated by hub/pricing's own promotion models (the key is the promotion id);
    read back with ``parse_promotions([json.loads(data) ...])`` (the checkout does,
    hub/checkout/published.py)."""
    data = None
    if change.op != "delete":
        promo = parse_promotions([{**change.data, "id": change.key}])[0]
        data = promo.model_dump_json()
    put_document(conn, change, change.key, data)


def builtin_appliers() -> dict[str, Applier]:
    return {
        "member": apply_member,
        "plate": apply_plate,
        "catalog.item": apply_catalog_item,
        "price": apply_price,
        "promotion": apply_promotion,
        "device": apply_device,
        "entry_key": document_applier(EntryKeyData),
    }
