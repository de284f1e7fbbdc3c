"""A patient's account as a ledger: charges and payments are entries of their own, never
changed in place. A payment is voided (kept, with its reason) or corrected by a new entry
that names the one it replaces; the balance counts only the payments still valid."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from app.core.money import round_money
from app.core.wire import PAYMENT_METHODS

ZERO = Decimal("0.00")
METHODS = PAYMENT_METHODS
METHOD_LABELS = {
    "cash": "Cash",
    "card": "Card",
    "transfer": "Bank transfer",
    "cheque": "Cheque",
    "insurance": "Insurance",
    "other": "Other",
}


@dataclass(frozen=True, slots=True)
class Charge:
    id: str
    on: str  # ISO date
    amount: Decimal
    label: str = ""


@dataclass(frozen=True, slots=True)
class Payment:
    id: str
    on: str  # ISO date
    amount: Decimal
    method: str = "cash"
    taken_by: str = ""
    agreement_id: str | None = None
    void_reason: str | None = None
    corrects: str | None = None  # the payment this one replaces

    @property
    def valid(self) -> bool:
        return self.void_reason is None


@dataclass(frozen=True, slots=True)
class Account:
    charged: Decimal
    paid: Decimal

    @property
    def balance(self) -> Decimal:
        """What the patient owes; below zero it is the patient's credit."""
        return self.charged - self.paid

    @property
    def owed(self) -> Decimal:
        return max(self.balance, ZERO)

    @property
    def credit(self) -> Decimal:
        return max(-self.balance, ZERO)


def valid_payments(payments: Iterable[Payment]) -> list[Payment]:
    return [p for p in payments if p.valid]


def account(charges: Iterable[Charge], payments: Iterable[Payment]) -> Account:
    return Account(
        round_money(sum((c.amount for c in charges), ZERO)),
        round_money(sum((p.amount for p in valid_payments(payments)), ZERO)),
    )


def excess(owed: Decimal, amount: Decimal) -> Decimal:
    """How much of a new payment goes beyond what is owed (becomes credit)."""
    return max(amount - max(owed, ZERO), ZERO)


def day_total(payments: Iterable[Payment], day: str) -> Decimal:
    return round_money(sum((p.amount for p in valid_payments(payments) if p.on == day), ZERO))


def takings_by(payments: Iterable[Payment], key: Callable[[Payment], str]) -> dict[str, Decimal]:
    """Valid takings grouped (by method, by who took them...), for the day-end report."""
    out: dict[str, Decimal] = {}
    for p in valid_payments(payments):
        out[key(p)] = out.get(key(p), ZERO) + p.amount
    return {k: round_money(v) for k, v in sorted(out.items())}
