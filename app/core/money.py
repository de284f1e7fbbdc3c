"""Money: exact, never floats. Reckoned as Decimal; stored and sent as decimal text with
two places ("1250.00", "-3.10"), the wire form of a "money" field. Every rounding of
money happens here: half up (away from zero) to the cent.

Before decimal text, amounts were integer minor units (cents); such a value still reads
(`from_wire`), so older databases, queued changes and the cloud's copies stay readable.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import overload

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
MAX_DIGITS = 13  # before the point: far beyond any practice's sums, well inside 2**53 cents

_TYPED = re.compile(r"^\s*(-)?\s*(\d{1,12})(?:[.,](\d{1,2}))?\s*$")
WIRE = re.compile(r"^-?\d{1,13}\.\d{2}$")


class MoneyError(ValueError):
    pass


def round_money(amount: Decimal) -> Decimal:
    """The one rounding rule: to the cent, halves away from zero."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def parse_money(text: str) -> Decimal:
    """What the user typed — '12.50', '12,5', '120' — as an exact amount; MoneyError for
    anything else (no more than two decimals: nothing typed is rounded away)."""
    m = _TYPED.match(text or "")
    if not m:
        raise MoneyError("Enter an amount like 120 or 120.50.")
    frac = (m.group(3) or "").ljust(2, "0")
    amount = Decimal(f"{m.group(2)}.{frac}")
    return -amount if m.group(1) else amount


def format_money(amount: Decimal | None) -> str:
    """As the desk reads it, rounded by the rule: 1234.5 -> '1,234.50'."""
    if amount is None:
        return ""
    return f"{round_money(Decimal(amount)):,.2f}"


def to_wire(amount: Decimal | None) -> str | None:
    """An amount as stored and sent: decimal text with two places, rounded by the rule."""
    if amount is None:
        return None
    if not isinstance(amount, Decimal):
        raise MoneyError("An amount must be exact (a Decimal).")
    text = f"{round_money(amount):f}"
    if text == "-0.00":
        text = "0.00"
    if not WIRE.match(text):
        raise MoneyError("That amount is too large.")
    return text


@overload
def from_wire(value: None) -> None: ...


@overload
def from_wire(value: str | int) -> Decimal: ...


@overload
def from_wire(value: object) -> Decimal | None: ...


def from_wire(value: object) -> Decimal | None:
    """A stored or received amount as a Decimal: decimal text, or (written before decimal
    text) an integer of minor units. MoneyError for anything else."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise MoneyError("An amount must be a number.")
    if isinstance(value, int):
        return (Decimal(value) / 100).quantize(CENT)
    if isinstance(value, str):
        try:
            return Decimal(value).quantize(CENT)
        except InvalidOperation:
            raise MoneyError("An amount must be a number.") from None
    raise MoneyError("An amount must be decimal text.")


def wire_problem(value: object) -> str | None:
    """None when `value` is a money field's value on the wire, else the reason."""
    if isinstance(value, str):
        return None if WIRE.match(value) else "must be an amount like 12.50"
    if isinstance(value, int) and not isinstance(value, bool):
        # Minor units, as changes were written before decimal text.
        return None if abs(value) <= 2**53 else "is out of range"
    return "must be an amount like 12.50"


def sum_money(amounts: Iterable[Decimal | None]) -> Decimal:
    return sum((a for a in amounts if a is not None), ZERO)


@dataclass(frozen=True, slots=True)
class AgreementTotals:
    total: Decimal
    discount: Decimal
    tax: Decimal
    paid: Decimal

    @property
    def due(self) -> Decimal:
        return round_money(self.total - self.discount + self.tax)

    @property
    def remaining(self) -> Decimal:
        return round_money(self.due - self.paid)

    def is_expired(self, expires_on: str | None, today: dt.date) -> bool:
        """Expired: past its date with money still owed."""
        if not expires_on:
            return False
        return dt.date.fromisoformat(expires_on) < today and self.remaining > 0
