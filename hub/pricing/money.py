"""Money as integer minor units (fen, cents). Never ``float``.

Rounding rules, used everywhere in :mod:`hub.pricing`:

- Amounts are ``int`` minor units; rates and percentages are :class:`~decimal.Decimal`.
- A value with a fraction of a minor unit (a percentage of an amount, a price per
  kg times grams, an amount without tax) is rounded **half up** (四舍五入, away
  from zero at exactly .5) to the minor unit, once, where it is computed.
- A sum that must be split (a basket discount over lines, a refund over units) is
  split by :func:`allocate`: every share but the largest is rounded half up, and
  the largest takes the residual, so the shares always add up exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

#: ISO 4217 minor-unit exponents of the currencies a store may use.
EXPONENTS: dict[str, int] = {
    "CNY": 2,
    "HKD": 2,
    "MOP": 2,
    "TWD": 2,
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "SGD": 2,
    "JPY": 0,
    "KRW": 0,
    "KWD": 3,
}


class MoneyError(ValueError):
    """An amount that cannot be money: a float, too many decimals, not a number."""


def exponent(currency: str) -> int:
    try:
        return EXPONENTS[currency]
    except KeyError:
        raise MoneyError(f"unknown currency {currency!r}") from None


def round_half_up(value: Decimal) -> int:
    """``value`` (in minor units, maybe fractional) rounded half up to a whole minor unit."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def to_minor(value: str | int | Decimal, currency: str = "CNY") -> int:
    """``"12.30"`` → ``1230``. Exact: more decimals than the currency has is an error,
    and so is a float (``0.1`` is not exactly a tenth)."""
    if isinstance(value, bool | float):  # bool is an int; float is inexact
        raise MoneyError(f"money must not be a {type(value).__name__}: {value!r}")
    try:
        amount = Decimal(value) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise MoneyError(f"not an amount: {value!r}") from None
    if not amount.is_finite():
        raise MoneyError(f"not an amount: {value!r}")
    scaled = amount.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"{value!r} has more decimals than {currency} allows")
    return int(scaled)


def format_minor(minor: int, currency: str = "CNY") -> str:
    """``1230`` → ``"12.30"`` (the wire and receipt form; no currency sign)."""
    exp = exponent(currency)
    if exp == 0:
        return str(minor)
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), 10**exp)
    return f"{sign}{whole}.{frac:0{exp}d}"


def percent_of(amount: int, percent: Decimal) -> int:
    """``percent`` % of ``amount`` minor units, rounded half up."""
    return round_half_up(Decimal(amount) * percent / 100)


def tax_included(amount: int, rate: Decimal) -> int:
    """The tax inside a tax-inclusive ``amount`` at ``rate`` (0.17 = 17 %).

    The amount without tax is rounded half up; the tax is what remains, so
    ``excluding + tax == amount`` always holds (the e-invoice rule)."""
    if rate < 0:
        raise MoneyError(f"negative tax rate {rate}")
    excluding = round_half_up(Decimal(amount) / (1 + rate))
    return amount - excluding


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split ``total`` over ``weights`` in proportion; the shares add up to ``total``.

    Every share but the one of the largest weight is rounded half up; the largest
    weight (the first of equals) takes the residual.  Zero weights get zero.
    """
    if not weights:
        if total:
            raise MoneyError("cannot allocate a non-zero amount over nothing")
        return []
    if any(w < 0 for w in weights):
        raise MoneyError("allocation weights must not be negative")
    whole = sum(weights)
    if whole == 0:
        if total:
            raise MoneyError("cannot allocate a non-zero amount over zero weights")
        return [0] * len(weights)
    largest = max(range(len(weights)), key=lambda i: (weights[i], -i))
    shares = [
        0 if i == largest else round_half_up(Decimal(total) * w / whole)
        for i, w in enumerate(weights)
    ]
    shares[largest] = total - sum(shares)
    return shares
