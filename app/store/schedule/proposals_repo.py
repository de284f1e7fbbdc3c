"""Next visits as proposals: a record's "next visit" date shows in the book (and the
diary) until the patient has an appointment that day, and is booked with one click
into the first free slot of that day."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from app.core.text import display_name
from app.store.access import visible_records
from app.store.db import Database
from app.store.dto import Viewer
from app.store.models import Patient, Visit
from app.store.schedule.dto import BookEntry, ChairRow, Proposal, ProviderWeek

if TYPE_CHECKING:
    from app.store.schedule.book_repo import BookRepo

STEP = 15  # minutes between the starts tried for a free slot
USUAL_DAY = (8 * 60, 18 * 60)  # where to look when nobody set working hours


class ProposalsRepo:
    def __init__(self, db: Database, book: BookRepo) -> None:
        self.db = db
        self.book = book

    def free_slot(
        self, viewer: Viewer, day: dt.date, minutes: int, doctor_id: str | None
    ) -> tuple[dt.datetime, str | None]:
        """The first start on `day` (local) at which a chair and the provider are both
        free for `minutes`, within the provider's hours (or a usual day). When the day is
        full: its first start, in the first chair (the clash warning then says so)."""
        chairs: list[ChairRow] = self.book.chairs()
        hours: dict[str, ProviderWeek] = self.book.hours.all()
        span = _span_of(day, hours, doctor_id)
        start = dt.datetime.combine(day, dt.time.min).astimezone()
        page = self.book.page(viewer, day, 1)
        taken = [e for e in page.entries if e.open]
        now = dt.datetime.now().astimezone()
        first_chair = chairs[0].id if chairs else None
        t = span[0]
        while t + minutes <= span[1]:
            begins = start + dt.timedelta(minutes=t)
            ends = begins + dt.timedelta(minutes=minutes)
            if begins >= now:
                busy = [e for e in taken if e.starts_at < ends and begins < e.ends_at]
                if not (doctor_id and any(e.doctor_id == doctor_id for e in busy)):
                    used = {e.chair_id for e in busy}
                    for c in chairs or [ChairRow("", "", 0)]:
                        if (c.id or None) not in used:
                            return begins, c.id or None
            t += STEP
        return start + dt.timedelta(minutes=span[0]), first_chair


def due(
    db: Database, viewer: Viewer, first: dt.date, days: int, booked: set[tuple[str, dt.date]]
) -> list[Proposal]:
    """Next visits due on these days, but for (patient, day) in `booked`."""
    with db.read() as s:
        found = proposals_due(s, viewer, first, days)
    return [p for p in found if (p.patient_id, p.day) not in booked]


def not_booked(found: list[Proposal], entries: list[BookEntry]) -> list[Proposal]:
    """The next visits of patients without an open appointment that day among `entries`
    (the book's appointments of those days)."""
    if not found:
        return []
    who = {p.patient_id for p in found}
    booked = {
        (e.patient_id, e.starts_at.astimezone().date())
        for e in entries
        if e.patient_id in who and e.open
    }
    return [p for p in found if (p.patient_id, p.day) not in booked]


def proposals_due(s: Any, viewer: Viewer, first: dt.date, days: int) -> list[Proposal]:
    """Every record's next visit on these days (one per patient and day)."""
    last = first + dt.timedelta(days=days - 1)
    query = (
        select(Visit.id, Visit.patient_id, Visit.next_visit_date, Visit.next_visit_minutes,
               Visit.doctor_id, Visit.name, Patient.first_name, Patient.last_name)
        .join(Patient, Patient.id == Visit.patient_id)
        .where(
            Visit.next_visit_date >= first.isoformat(),
            Visit.next_visit_date <= last.isoformat(),
            Visit.deleted.is_(False),
            visible_records(viewer),
        )
        .order_by(Visit.next_visit_date, Patient.sort_key, Visit.id)
    )
    out: list[Proposal] = []
    seen: set[tuple[str, dt.date]] = set()
    for vid, pid, day_text, minutes, doctor, name, fn, ln in s.execute(query).all():
        day = dt.date.fromisoformat(day_text)
        if (pid, day) in seen or not minutes:
            continue
        seen.add((pid, day))
        out.append(Proposal(vid, pid, display_name(fn, ln), day, minutes, doctor, name))
    return out


def _span_of(
    day: dt.date, hours: dict[str, ProviderWeek], doctor_id: str | None
) -> tuple[int, int]:
    week = hours.get(doctor_id or "")
    if week is not None:
        return week.days[day.weekday()] or USUAL_DAY
    return USUAL_DAY
