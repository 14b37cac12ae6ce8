"""Promotion definitions: one pydantic model per kind, a discriminated union on ``type``.

Amounts are written in major units as decimal *strings* (``price = "9.90"``) and
converted to minor units with the basket's currency; a float is refused, since
``9.9`` is not exactly 9.90.  ``items`` are GTIN-14s; an empty set means every
item (except for ``mix_and_match``, whose group must be named).

The order in which they apply is fixed by :mod:`hub.pricing.engine`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, model_validator


def _no_float(value: Any) -> Any:
    if isinstance(value, float):
        raise ValueError('write money and percentages as strings ("9.90"), not floats')
    return value


#: A non-negative amount in major units, e.g. ``"9.90"``.
Amount = Annotated[Decimal, BeforeValidator(_no_float), Field(ge=0)]
Percent = Annotated[Decimal, BeforeValidator(_no_float), Field(gt=0, le=100)]


class _Promotion(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    name: str = ""
    #: Lower runs first within its stage; equal priorities go by ``id``.
    priority: int = 100
    #: Epoch seconds; ``None`` = open-ended.
    starts: float | None = None
    ends: float | None = None
    items: frozenset[str] = frozenset()

    def active(self, now: float) -> bool:
        return (self.starts is None or now >= self.starts) and (
            self.ends is None or now < self.ends
        )

    def covers(self, gtin: str) -> bool:
        return not self.items or gtin in self.items

    @property
    def label(self) -> str:
        return self.name or self.id

    @property
    def order(self) -> tuple[int, str]:
        return (self.priority, self.id)


class PercentOff(_Promotion):
    """``percent`` off the unit price (a weighed or price-labelled line: off its amount)."""

    type: Literal["percent_off"] = "percent_off"
    percent: Percent


class FixedPrice(_Promotion):
    """A promotional unit price (per kg for weighed items)."""

    type: Literal["fixed_price"] = "fixed_price"
    price: Amount


class MemberPrice(_Promotion):
    """A unit price for identified members only."""

    type: Literal["member_price"] = "member_price"
    price: Amount


class BuyXGetY(_Promotion):
    """Buy ``buy``, get ``get`` more at ``percent`` off (100 = free). In each group of
    ``buy + get`` units (units sorted dearest first) the cheapest ``get`` are reduced."""

    type: Literal["buy_x_get_y"] = "buy_x_get_y"
    buy: int = Field(ge=1)
    get: int = Field(ge=1)
    percent: Percent = Decimal(100)
    #: Units that already got a unit-price promotion do not count.
    exclusive: bool = False


class MixAndMatch(_Promotion):
    """Any ``qty`` units of the ``items`` group for ``price`` together."""

    type: Literal["mix_and_match"] = "mix_and_match"
    qty: int = Field(ge=2)
    price: Amount
    exclusive: bool = False

    @model_validator(mode="after")
    def _group_named(self) -> MixAndMatch:
        if not self.items:
            raise ValueError("mix_and_match needs its group of items")
        return self


class Tier(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    spend: Amount
    off: Amount


class SpendThreshold(_Promotion):
    """满减: spend at least ``spend``, get ``off`` off the eligible items; the highest
    tier reached applies. ``repeat`` (每满): once per whole multiple of the lowest tier."""

    type: Literal["spend_threshold"] = "spend_threshold"
    tiers: tuple[Tier, ...] = Field(min_length=1)
    repeat: bool = False

    @model_validator(mode="after")
    def _tiers(self) -> SpendThreshold:
        if any(t.spend <= 0 or t.off > t.spend for t in self.tiers):
            raise ValueError("each tier needs spend > 0 and off <= spend")
        if self.repeat and len(self.tiers) != 1:
            raise ValueError("a repeating spend threshold has exactly one tier")
        return self


Promotion = Annotated[
    PercentOff | FixedPrice | MemberPrice | BuyXGetY | MixAndMatch | SpendThreshold,
    Field(discriminator="type"),
]

UNIT_PRICE_TYPES = (PercentOff, FixedPrice, MemberPrice)
QUANTITY_TYPES = (BuyXGetY, MixAndMatch)

_ADAPTER: TypeAdapter[list[Promotion]] = TypeAdapter(list[Promotion])


def parse_promotions(raw: list[dict[str, Any]]) -> list[Promotion]:
    """Validate promotion tables (from TOML/JSON); raises pydantic's ``ValidationError``."""
    return _ADAPTER.validate_python(raw)
