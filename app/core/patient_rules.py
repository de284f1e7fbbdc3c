"""Validation of a patient's details, with reasons in the words of the front desk."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from app.core.phone import PhoneError, normalise_phone
from app.core.wire import ENTITIES, GENDERS, LONG_TEXT_MAX, SHORT_TEXT_MAX

OLDEST_AGE_YEARS = 130
# Deliberately simple: one @, something on each side, a dot in the domain, no spaces.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]{2,}$")

LABELS = {
    "first_name": "First name",
    "last_name": "Last name",
    "gender": "Gender",
    "birth_date": "Date of birth",
    "mobile": "Mobile",
    "landline": "Landline",
    "id_number": "ID number",
    "insurance_card_number": "Medical insurance card number",
    "email": "Email",
    "address": "Address",
    "note": "Note",
    "card_number": "Card number",
    "case_types": "Case types",
    "past_medical_history": "Past medical history",
    "diseases": "Diseases",
    "medications": "Medications",
    "oral_habits": "Oral habits",
    "allergies": "Allergies",
}


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    message: str


class ValidationError(ValueError):
    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = errors


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


_Err = Callable[[str, str], None]


def clean_patient(data: Mapping[str, Any], today: dt.date | None = None) -> dict[str, Any]:
    """Validated, normalised patient fields; raises ValidationError listing each problem."""
    spec = ENTITIES["patient"].fields
    out: dict[str, Any] = {}
    for name, value in data.items():
        if name not in spec:
            raise KeyError(name)
        out[name] = _clean(value)
    errors: list[FieldError] = []

    def err(field: str, message: str) -> None:
        errors.append(FieldError(field, message))

    _check_names(out, err)
    _check_gender(out, err)
    _check_birth_date(out, err, today or dt.date.today())
    _check_phones(out, err)
    _check_case_types(out)
    _check_email(out, err)
    _check_lengths(out, err)
    if errors:
        raise ValidationError(errors)
    return out


def _check_names(out: dict[str, Any], err: _Err) -> None:
    if "first_name" in out and not out["first_name"]:
        err("first_name", "First name is required.")
    if "last_name" in out and not out["last_name"]:
        err("last_name", "Last name is required.")


def _check_gender(out: dict[str, Any], err: _Err) -> None:
    if "gender" in out:
        out["gender"] = out["gender"] or "unknown"
        if out["gender"] not in GENDERS:
            err("gender", "Choose a gender from the list.")


def _check_birth_date(out: dict[str, Any], err: _Err, today: dt.date) -> None:
    birth = out.get("birth_date")
    if isinstance(birth, str):
        try:
            birth = dt.date.fromisoformat(birth)
        except ValueError:
            err("birth_date", "Date of birth is not a valid date (use YYYY-MM-DD).")
            return
    if not isinstance(birth, dt.date):
        return
    if birth > today:
        err("birth_date", "Date of birth cannot be in the future.")
    elif birth.year < today.year - OLDEST_AGE_YEARS:
        err("birth_date", f"Date of birth is more than {OLDEST_AGE_YEARS} years ago.")
    else:
        out["birth_date"] = birth.isoformat()


def _check_phones(out: dict[str, Any], err: _Err) -> None:
    for phone in ("mobile", "landline"):
        if out.get(phone):
            try:
                out[phone] = normalise_phone(out[phone])
            except PhoneError as exc:
                err(phone, f"{LABELS[phone]} {exc}.")


def _check_case_types(out: dict[str, Any]) -> None:
    if out.get("case_types"):
        # One spelling of the list, so the filter and the list of types agree.
        parts = (t.strip() for t in out["case_types"].split(","))
        out["case_types"] = ", ".join(t for t in parts if t) or None


def _check_email(out: dict[str, Any], err: _Err) -> None:
    if out.get("email"):
        out["email"] = out["email"].lower() if out["email"].isascii() else out["email"]
        if not _EMAIL.match(out["email"]):
            err("email", "Email does not look like an address (name@example.com).")


def _check_lengths(out: dict[str, Any], err: _Err) -> None:
    spec = ENTITIES["patient"].fields
    for name, value in out.items():
        if isinstance(value, str):
            limit = SHORT_TEXT_MAX if spec[name].kind == "str" else LONG_TEXT_MAX
            if len(value) > limit:
                err(name, f"{LABELS.get(name, name)} is longer than {limit} characters.")
            if "\x00" in value:
                err(name, f"{LABELS.get(name, name)} contains an invalid character.")


def age_on(birth_date: str | None, today: dt.date) -> int | None:
    if not birth_date:
        return None
    b = dt.date.fromisoformat(birth_date)
    return today.year - b.year - ((today.month, today.day) < (b.month, b.day))
