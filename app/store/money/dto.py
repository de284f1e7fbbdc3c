"""What leaves the store about money: exact Decimal amounts, never ORM objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One line of a patient's account: a charge (a visit's fee) or a payment."""

    id: str
    kind: str  # "charge" or "payment"
    on: str
    amount: Decimal
    label: str = ""
    method: str | None = None
    taken_by_name: str = ""
    agreement_id: str | None = None
    void_reason: str | None = None
    corrects: str | None = None
    # Paid with a visit before the ledger: shown, but voided or corrected on the visit.
    editable: bool = True

    @property
    def voided(self) -> bool:
        return self.void_reason is not None


@dataclass(frozen=True, slots=True)
class AccountView:
    patient_id: str
    charged: Decimal
    paid: Decimal
    balance: Decimal  # owed; below zero the patient's credit
    credit: Decimal
    entries: list[LedgerEntry] = field(default_factory=list)  # newest first
