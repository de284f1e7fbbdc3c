"""Money: exact, never floats. Stored and sent as integer minor units (cents); reckoned
as Decimal. Every rounding of money happens here, half up to the cent."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")

_AMOUNT = re.compile(r"^\s*(-)?\s*(\d{1,12})(?:[.,](\d{1,2}))?\s*$")


class MoneyError(ValueError):
    pass


def parse_amount(text: str) -> int:
    """'12.50' or '12,5' → 1250. Raises MoneyError for anything else."""
    m = _AMOUNT.match(text or "")
    if not m:
        raise MoneyError("Enter an amount like 120 or 120.50.")
    sign = -1 if m.group(1) else 1
    frac = (m.group(3) or "").ljust(2, "0")
    return sign * (int(m.group(2)) * 100 + int(frac or 0))


def to_decimal(cents: int) -> Decimal:
    """Minor units as they are stored → an exact Decimal amount (1250 → 12.50)."""
    return (Decimal(cents) / 100).quantize(CENT)


def round_money(amount: Decimal) -> Decimal:
    """The one rounding rule: to the cent, halves away from zero."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def to_cents(amount: Decimal) -> int:
    """A Decimal amount → minor units for the store and the wire, rounded by the rule."""
    return int(round_money(amount) * 100)


def format_amount(cents: int | None) -> str:
    if cents is None:
        return ""
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100:,}.{cents % 100:02d}"


def format_money(amount: Decimal | None) -> str:
    """A Decimal amount as the desk reads it, rounded by the rule: 1234.5 → '1,234.50'."""
    return "" if amount is None else format_amount(to_cents(amount))


def parse_money(text: str) -> Decimal:
    """What the user typed as an exact Decimal; MoneyError for anything else."""
    return to_decimal(parse_amount(text))


@dataclass(frozen=True, slots=True)
class AgreementTotals:
    total: int
    discount: int
    tax: int
    paid: int

    @property
    def due(self) -> int:
        return self.total - self.discount + self.tax

    @property
    def remaining(self) -> int:
        return self.due - self.paid

    def is_expired(self, expires_on: str | None, today: dt.date) -> bool:
        """Expired: past its date with money still owed."""
        return bool(expires_on) and dt.date.fromisoformat(expires_on) < today and self.remaining > 0  # type: ignore[arg-type]
