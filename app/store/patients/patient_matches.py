"""Existing patients who may be the same person as some patient's details.

Used twice: when a new patient is saved (a warning before a duplicate is made) and
when a patient created offline is matched by the sync wizard. The read narrows the
candidates with plain comparisons; app.core.matching decides in folded form.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.core import matching
from app.core.text import digits, display_name, fold
from app.store import access
from app.store.dto import Viewer
from app.store.models import Patient

LIMIT = 200


@dataclass(frozen=True, slots=True)
class Match:
    id: str
    name: str
    birth_date: str | None
    mobile: str | None
    reason: str  # why it is proposed; "" for a patient picked by search


def fields_of(p: Patient) -> dict[str, str | None]:
    return {"first_name": p.first_name, "last_name": p.last_name, "birth_date": p.birth_date,
            "id_number": p.id_number, "mobile": p.mobile}


def match_of(p: Patient, reason: str) -> Match:
    return Match(p.id, display_name(p.first_name, p.last_name), p.birth_date, p.mobile, reason)


def find(
    s: Session, viewer: Viewer, mine: Mapping[str, Any], *, exclude_id: str | None = None
) -> list[Match]:
    """Confirmed patients this viewer sees who may be `mine`, strongest first."""
    near = [Patient.birth_date == mine["birth_date"]] if mine.get("birth_date") else []
    id_number = fold(mine.get("id_number")).replace(" ", "")
    if id_number:
        # Typed with or without spaces, in either case; matching folds the rest.
        near.append(func.lower(func.replace(Patient.id_number, " ", "")) == id_number)
    phone = digits(mine.get("mobile"))
    if len(phone) >= matching.MIN_PHONE_DIGITS:
        near.append(Patient.phone_digits.contains(phone))
    if not near:
        return []
    stmt = select(Patient).where(access.visible(viewer), Patient.provisional.is_(False),
                                 or_(*near))
    if exclude_id:
        stmt = stmt.where(Patient.id != exclude_id)
    rows = list(s.scalars(stmt.order_by(Patient.sort_key, Patient.num).limit(LIMIT)))
    by_id = {r.id: r for r in rows}
    found = matching.candidates(mine, ((r.id, fields_of(r)) for r in rows))
    return [match_of(by_id[c.patient_id], c.reason) for c in found]
