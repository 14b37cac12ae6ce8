"""Settings of the checkout service (a ``[checkout]`` table of the store config).

Until the store config carries that table, :func:`load` reads
``checkout.toml`` beside the store config, and defaults apply without either.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hub.barcodes import VariableMeasureRule, default_rules
from hub.errors import ConfigError
from hub.pricing import Promotion


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SimulatedPayments(_Strict):
    """The simulated QR provider: every payment succeeds after ``delay_s`` unless the
    dice say it fails or is never paid (times out)."""

    type: Literal["simulated"] = "simulated"
    delay_s: float = Field(default=1.0, ge=0)
    fail_rate: float = Field(default=0.0, ge=0, le=1)
    timeout_rate: float = Field(default=0.0, ge=0, le=1)
    #: Leave every payment pending until a test settles it.
    hold: bool = False
    seed: int | None = None


PaymentConfig = Annotated[SimulatedPayments, Field(discriminator="type")]


class CheckoutConfig(_Strict):
    currency: str = Field(default="CNY", pattern=r"^[A-Z]{3}$")
    #: Tax rate of items whose catalog entry has none (China: 13 % general VAT).
    default_tax_rate: str = Field(default="0.13", pattern=r"^0(\.\d+)?$")
    #: In-store variable-measure layouts (scale labels); see hub/barcodes.py.
    variable_measure: tuple[VariableMeasureRule, ...] = Field(
        default_factory=lambda: tuple(default_rules())
    )
    promotions: tuple[Promotion, ...] = ()

    # -- bagging area (the grams of tolerance are each kiosk's ``weight_tolerance_g``)
    #: At least this share of the item's weight (heavy items vary more).
    weight_tolerance_pct: float = Field(default=0.05, ge=0, lt=1)
    place_timeout_s: float = Field(default=20.0, gt=0)
    #: Learned weights are trusted after this many confirmed sales of the item.
    learn_min_samples: int = Field(default=3, ge=1)

    # -- payment and baskets
    payment: PaymentConfig = SimulatedPayments()
    #: A QR payment not completed in this time is cancelled (the shopper may retry).
    payment_timeout_s: float = Field(default=120.0, gt=0)
    payment_poll_s: float = Field(default=0.5, gt=0)
    #: A basket untouched this long is abandoned: cleared, its stock locks released.
    abandon_after_s: float = Field(default=300.0, gt=0)
    #: Stock zone that sales decrement and locks hold (hub/inventory.py), unless the
    #: item is stocked in exactly one other zone.
    stock_zone: str = "store"
    #: Issue the e-invoice record right after payment (buyer: the member, if any).
    auto_einvoice: bool = True

    # -- image decoding
    decoder_workers: int = Field(default=1, ge=1, le=8)


def load(store_config: Path | None) -> CheckoutConfig:
    """``checkout.toml`` beside the store config, or the defaults."""
    if store_config is None:
        return CheckoutConfig()
    path = store_config.parent / "checkout.toml"
    if not path.exists():
        return CheckoutConfig()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        return CheckoutConfig.model_validate(raw)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"{path}: {where}: {err['msg']}") from None
