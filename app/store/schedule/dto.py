"""What the appointment book's repository hands out."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from app.core.hours import WEEKDAYS

# Statuses that free the slot: they stay in the book but clash with nothing.
CLOSED = frozenset({"cancelled", "no_show"})


@dataclass(frozen=True, slots=True)
class ChairRow:
    id: str
    name: str
    position: int
    active: bool = True


@dataclass(frozen=True, slots=True)
class BookEntry:
    id: str
    patient_id: str
    patient_name: str
    starts_at: dt.datetime  # aware, UTC
    duration_minutes: int
    reason: str | None
    note: str | None
    status: str
    chair_id: str | None
    doctor_id: str | None
    status_at: str | None = None
    status_by: str | None = None
    cancel_reason: str | None = None
    clash: bool = False

    @property
    def ends_at(self) -> dt.datetime:
        return self.starts_at + dt.timedelta(minutes=self.duration_minutes)

    @property
    def open(self) -> bool:
        return self.status not in CLOSED


@dataclass(frozen=True, slots=True)
class ProviderWeek:
    """A provider's working hours: per weekday (Monday first) a span of local minutes,
    or None for a day off. `set` is False when nobody set them (then no warning)."""

    user_id: str
    days: tuple[tuple[int, int] | None, ...]
    set: bool = True

    def by_key(self) -> dict[str, tuple[int, int] | None]:
        return dict(zip(WEEKDAYS, self.days, strict=True))


@dataclass(frozen=True, slots=True)
class Proposal:
    """A record's "next visit" on a day that has no appointment for the patient yet:
    the book shows it, and one click books it."""

    visit_id: str
    patient_id: str
    patient_name: str
    day: dt.date
    minutes: int
    doctor_id: str | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class BookPage:
    """The book from `first` for `days` days (local dates)."""

    first: dt.date
    days: int
    chairs: list[ChairRow]
    entries: list[BookEntry]
    hours: dict[str, ProviderWeek] = field(default_factory=dict)  # by provider id
    proposals: list[Proposal] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Booking:
    """What the booking dialog asks the book to write (new or changed appointment)."""

    patient_id: str
    starts_at: dt.datetime
    duration_minutes: int
    chair_id: str | None
    doctor_id: str | None
    reason: str | None = None
    note: str | None = None
