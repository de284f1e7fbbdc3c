"""Which existing patients a patient created offline may be.

The strongest match is the one the sync wizard proposes: the same first name, last
name and date of birth, compared in folded form (accents, case and spacing do not
count). Below it, as further candidates only: the same mobile phone digits or the same
ID number. A person always confirms; nothing here merges anybody.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from app.core.text import digits, fold

# Strength of a candidate, strongest first.
SAME_NAME_AND_BIRTH = 3
SAME_ID_NUMBER = 2
SAME_PHONE = 1

REASONS = {
    SAME_NAME_AND_BIRTH: "same first name, last name and date of birth",
    SAME_ID_NUMBER: "same ID number",
    SAME_PHONE: "same mobile phone",
}
MIN_PHONE_DIGITS = 6  # shorter numbers say too little about who someone is


@dataclass(frozen=True, slots=True)
class Candidate:
    patient_id: str
    strength: int

    @property
    def reason(self) -> str:
        return REASONS[self.strength]


def identity_key(first_name: str | None, last_name: str | None, birth_date: str | None) -> str:
    """Folded name and birth date; empty when any part is missing (no match then)."""
    first, last = fold(first_name), fold(last_name)
    if not first or not last or not birth_date:
        return ""
    return f"{first}\x1f{last}\x1f{birth_date}"


def strength(offline: Mapping[str, Any], other: Mapping[str, Any]) -> int:
    """How strongly `other` matches `offline` (0: not at all)."""
    key = identity_key(offline.get("first_name"), offline.get("last_name"),
                       offline.get("birth_date"))
    if key and key == identity_key(other.get("first_name"), other.get("last_name"),
                                   other.get("birth_date")):
        return SAME_NAME_AND_BIRTH
    id_number = fold(offline.get("id_number")).replace(" ", "")
    if id_number and id_number == fold(other.get("id_number")).replace(" ", ""):
        return SAME_ID_NUMBER
    phone = digits(offline.get("mobile"))
    if len(phone) >= MIN_PHONE_DIGITS and phone == digits(other.get("mobile")):
        return SAME_PHONE
    return 0


def candidates(
    offline: Mapping[str, Any], others: Iterable[tuple[str, Mapping[str, Any]]]
) -> list[Candidate]:
    """The patients among `others` (id, fields) that may be `offline`, strongest first;
    ties keep the order they came in."""
    found = [Candidate(pid, n) for pid, fields in others if (n := strength(offline, fields))]
    return sorted(found, key=lambda c: -c.strength)
