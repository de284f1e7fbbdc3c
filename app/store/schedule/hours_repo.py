"""Providers' working hours, set by an administrator and synced like the chairs. A
booking outside them is allowed after a warning, as a clash is."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from app.core.hours import WEEKDAY_NAMES, WEEKDAYS, HoursError, format_span, parse_span
from app.store.db import Database
from app.store.dto import Viewer
from app.store.models import ProviderHours
from app.store.patients.records_repo import InvalidRecordError
from app.store.schedule.dto import ProviderWeek

# Hours rows are named after their provider: two PCs that set a provider's hours while
# apart write the same row, and its days merge field by field.
_NAMESPACE = uuid.UUID("5b0f7d0e-6f7c-4c1e-9b7e-2f5d3a0c8e41")


def hours_id(user_id: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, user_id))


class HoursRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    def all(self) -> dict[str, ProviderWeek]:
        """Every provider's hours that were set, by provider id."""
        with self.db.read() as s:
            return self.all_in(s)

    def all_in(self, s: Any) -> dict[str, ProviderWeek]:
        rows = s.scalars(select(ProviderHours).where(ProviderHours.deleted.is_(False)))
        out: dict[str, ProviderWeek] = {}
        for r in rows:
            if r.user_id is None:
                continue
            days = tuple(_span(getattr(r, d)) for d in WEEKDAYS)
            out[r.user_id] = ProviderWeek(r.user_id, days)
        return out

    def set_hours(self, by: Viewer, user_id: str, days: dict[str, str | None]) -> ProviderWeek:
        """`days`: weekday key -> "HH:MM-HH:MM", or None/"" for a day off."""
        if not by.is_admin:
            raise InvalidRecordError("Only an administrator sets the working hours.")
        spans: dict[str, tuple[int, int] | None] = {}
        for d, name in zip(WEEKDAYS, WEEKDAY_NAMES, strict=True):
            try:
                spans[d] = parse_span(days.get(d))
            except HoursError as exc:
                # Seven rows look alike: the desk needs to know which one to correct.
                raise InvalidRecordError(f"{name}: {exc}") from None
        with self.db.write() as s:
            row = s.get(ProviderHours, hours_id(user_id))
            if row is None:
                row = ProviderHours(id=hours_id(user_id), user_id=user_id)
                s.add(row)
            if row.deleted:
                row.deleted = False
            for d in WEEKDAYS:
                text = format_span(spans[d])
                if getattr(row, d) != text:
                    setattr(row, d, text)
            s.flush()
        return ProviderWeek(user_id, tuple(spans[d] for d in WEEKDAYS))


def _span(text: str | None) -> tuple[int, int] | None:
    try:
        return parse_span(text)
    except HoursError:
        return None  # a value this program does not read: treated as a day off
