"""How values are shown: dates, ages, genders, money."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from app.core.money import format_money
from app.core.patient_rules import age_on

GENDER_LABELS = {"female": "Female", "male": "Male", "other": "Other", "unknown": "Not given"}


def gender(value: str | None) -> str:
    return GENDER_LABELS.get(value or "unknown", "Not given")


def birth_and_age(birth_date: str | None, today: dt.date | None = None) -> str:
    if not birth_date:
        return ""
    age = age_on(birth_date, today or dt.date.today())
    return f"{birth_date} ({age})"


def money(amount: Decimal | None) -> str:
    return format_money(amount)


def local_time(iso_utc: str) -> str:
    return dt.datetime.fromisoformat(iso_utc).astimezone().strftime("%Y-%m-%d %H:%M")


def server_time(moment: str) -> str:
    """A moment the server gave, in this computer's time; the server's clock is UTC, so
    a moment without a zone is UTC. What does not read as a moment is shown as it is."""
    try:
        at = dt.datetime.fromisoformat(moment)
    except ValueError:
        return moment
    return (at if at.tzinfo else at.replace(tzinfo=dt.UTC)).astimezone().strftime(
        "%Y-%m-%d %H:%M")
