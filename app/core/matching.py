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

# Strength of a candidate, strongest first. The last three only ever propose a
# duplicate to merge by hand (`likeness`), never a match for the sync wizard.
SAME_NAME_AND_BIRTH = 6
SAME_ID_NUMBER = 5
SAME_PHONE = 4
SAME_EMAIL = 3
SAME_NAME = 2
SAME_BIRTH_AND_SURNAME = 1

REASONS = {
    SAME_NAME_AND_BIRTH: "same first name, last name and date of birth",
    SAME_ID_NUMBER: "same ID number",
    SAME_PHONE: "same mobile phone",
    SAME_EMAIL: "same email",
    SAME_NAME: "same first and last name",
    SAME_BIRTH_AND_SURNAME: "same last name and date of birth",
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


def likeness(patient: Mapping[str, Any], other: Mapping[str, Any]) -> int:
    """How strongly `other` looks like a duplicate of `patient` (0: not at all): the
    rules of `strength`, then weaker hints a person judges when merging by hand."""
    found = strength(patient, other)
    if found:
        return found
    email = fold(patient.get("email"))
    if email and email == fold(other.get("email")):
        return SAME_EMAIL
    last = fold(patient.get("last_name"))
    if not last or last != fold(other.get("last_name")):
        return 0
    first = fold(patient.get("first_name"))
    if first and first == fold(other.get("first_name")):
        return SAME_NAME
    birth = patient.get("birth_date")
    if birth and birth == other.get("birth_date"):
        return SAME_BIRTH_AND_SURNAME
    return 0
