"""The appointment book: chairs, a day's (or week's) appointments, booking, moving,
statuses. A clash — the same chair or the same provider twice at once — is allowed
after a warning and stays marked, also when two PCs booked the slot while apart."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select

from app.core.hours import outside
from app.core.text import display_name
from app.store import access
from app.store.db import Database, WriteSession
from app.store.dto import Viewer
from app.store.errors import NotFoundError
from app.store.models import Appointment, Chair, Patient
from app.store.patients.records_repo import InvalidRecordError, _checked
from app.store.schedule.dto import CLOSED, BookEntry, Booking, BookPage, ChairRow, ProviderWeek
from app.store.schedule.hours_repo import HoursRepo
from app.store.schedule.proposals_repo import ProposalsRepo, not_booked, proposals_due
from app.store.sync.outbox import utc_now_text

LONGEST = dt.timedelta(hours=12)  # the longest appointment (see add_appointment)
STATUSES = ("booked", "arrived", "in_chair", "done", "cancelled", "no_show")


def utc_text(when: dt.datetime) -> str:
    if when.tzinfo is None:
        when = when.astimezone()
    return when.astimezone(dt.UTC).replace(microsecond=0).isoformat()


def local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min).astimezone()


def overlaps(a: BookEntry | Booking, b: BookEntry) -> bool:
    a_end = a.starts_at + dt.timedelta(minutes=a.duration_minutes)
    return a.starts_at < b.ends_at and b.starts_at < a_end


def shares(a: BookEntry | Booking, b: BookEntry) -> bool:
    """Same chair or same provider (an appointment without either clashes with none)."""
    return bool(
        (a.chair_id and a.chair_id == b.chair_id) or (a.doctor_id and a.doctor_id == b.doctor_id)
    )


Span = tuple[str, dt.datetime, dt.datetime, str | None, str | None]  # id, start, end, chair, doctor


def clashing_ids(spans: list[Span]) -> set[str]:
    """Ids of the open appointments that overlap another in the same chair or with the
    same provider. Per chair and per provider, a sweep in order of start compares each
    with the latest end before it (n log n for a busy week)."""
    clashing: set[str] = set()
    reach: dict[tuple[int, str], tuple[dt.datetime, str]] = {}  # latest end, whose
    for span_id, start, end, chair, doctor in sorted(spans, key=lambda x: (x[1], x[0])):
        for kind, who in ((0, chair), (1, doctor)):
            if who is None:
                continue
            key = (kind, who)
            before = reach.get(key)
            if before is not None and before[0] > start:
                clashing.update((before[1], span_id))
            if before is None or end > before[0]:
                reach[key] = (end, span_id)
    return clashing


_COLUMNS = (
    Appointment.id,
    Appointment.patient_id,
    Appointment.starts_at,
    Appointment.duration_minutes,
    Appointment.reason,
    Appointment.note,
    Appointment.status,
    Appointment.chair_id,
    Appointment.doctor_id,
    Appointment.status_at,
    Appointment.status_by,
    Appointment.cancel_reason,
)


def _entry_of(row: Any, patient_name: str, clash: bool = False) -> BookEntry:
    """From the columns of _COLUMNS, read without building ORM objects (a week is
    thousands of rows)."""
    return BookEntry(
        row[0],
        row[1],
        patient_name,
        dt.datetime.fromisoformat(row[2]),
        row[3],
        row[4],
        row[5],
        row[6],
        row[7],
        row[8],
        row[9],
        row[10],
        row[11],
        clash,
    )


def _entry(a: Appointment, patient_name: str) -> BookEntry:
    return _entry_of([getattr(a, c.key) for c in _COLUMNS], patient_name)


class BookRepo:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.hours = HoursRepo(db)
        self.proposals = ProposalsRepo(db, self)

    # Chairs ---------------------------------------------------------------------------
    def chairs(self, *, active_only: bool = True) -> list[ChairRow]:
        with self.db.read() as s:
            return _chair_rows(s, active_only)

    def add_chair(self, by: Viewer, name: str) -> ChairRow:
        _admin(by)
        fields = _checked("chair", {"name": name})
        if not fields.get("name"):
            raise InvalidRecordError("A chair needs a name.")
        with self.db.write() as s:
            top = s.execute(select(func.coalesce(func.max(Chair.position), 0))).scalar_one()
            c = Chair(name=fields["name"], position=int(top) + 1, active=True)
            s.add(c)
            s.flush()
            return ChairRow(c.id, c.name, c.position, c.active)

    def update_chair(
        self, by: Viewer, chair_id: str, *, name: str | None = None, active: bool | None = None
    ) -> None:
        """Rename a chair, or take it out of the book (its appointments stay)."""
        _admin(by)
        with self.db.write() as s:
            c = s.get(Chair, chair_id)
            if c is None or c.deleted:
                raise NotFoundError("That chair no longer exists.")
            if name is not None:
                fields = _checked("chair", {"name": name})
                if not fields.get("name"):
                    raise InvalidRecordError("A chair needs a name.")
                c.name = fields["name"]
            if active is not None:
                c.active = active

    # Reading --------------------------------------------------------------------------
    def page(self, viewer: Viewer, first: dt.date, days: int = 1) -> BookPage:
        """The appointments starting on these local days, clashes marked (a clash with
        an appointment of a patient this viewer does not see is marked too), with the
        chairs, the providers' hours and the next visits due: one read for all."""
        start = local_midnight(first)
        end = local_midnight(first + dt.timedelta(days=days))
        with self.db.read() as s:
            rows = self._rows_in(s, viewer, start, end)
            chairs = _chair_rows(s)
            hours = self.hours.all_in(s)
            due = proposals_due(s, viewer, first, days)
        n = len(_COLUMNS)
        minute = dt.timedelta(minutes=1)
        parse = dt.datetime.fromisoformat
        starts = [parse(r[2]) for r in rows]
        clashing = clashing_ids(
            [
                (r[0], begins, begins + r[3] * minute, r[7], r[8])
                for r, begins in zip(rows, starts, strict=True)
                if r[6] not in CLOSED
            ]
        )
        first_instant = start.astimezone(dt.UTC)
        names: dict[tuple[str, str | None], str] = {}
        shown = []
        # In order of start already (the query's order: UTC text sorts as time does).
        for r, begins in zip(rows, starts, strict=True):
            if not r[n + 2] or begins < first_instant:
                continue
            who = (r[n], r[n + 1])
            name = names.get(who)
            if name is None:
                name = names[who] = display_name(*who)
            shown.append(BookEntry(r[0], r[1], name, begins, r[3], r[4], r[5], r[6], r[7],
                                   r[8], r[9], r[10], r[11], r[0] in clashing))
        return BookPage(first, days, chairs, shown, hours, not_booked(due, shown))

    def _rows_starting(
        self, viewer: Viewer, start: dt.datetime, end: dt.datetime, open_only: bool = False
    ) -> list[Any]:
        with self.db.read() as s:
            return self._rows_in(s, viewer, start, end, open_only)

    def _rows_in(
        self,
        s: Any,
        viewer: Viewer,
        start: dt.datetime,
        end: dt.datetime,
        open_only: bool = False,
    ) -> list[Any]:
        """Rows of appointments that may overlap [start, end) (those starting up to the
        longest duration before it), with the patient's name and whether the viewer
        sees him."""
        seen = access.visible_records(viewer).label("seen")
        query = (
            select(*_COLUMNS, Patient.first_name, Patient.last_name, seen)
            .join(Patient, Patient.id == Appointment.patient_id)
            .where(
                Appointment.starts_at >= utc_text(start - LONGEST),
                Appointment.starts_at < utc_text(end),
                Appointment.deleted.is_(False),
            )
        )
        if open_only:
            query = query.where(Appointment.status.not_in(CLOSED))
        query = query.order_by(Appointment.starts_at, Appointment.id)
        # Plain rows on the session's connection: the ORM's per-row work is what a week of
        # thousands of appointments can not afford.
        rows: list[Any] = s.connection().execute(query).fetchall()
        return rows

    def get(self, viewer: Viewer, appointment_id: str) -> BookEntry:
        with self.db.read() as s:
            a = _live(s.get(Appointment, appointment_id))
            p = access.check(viewer, s.get(Patient, a.patient_id))
            return _entry(a, display_name(p.first_name, p.last_name))

    def clashes(
        self, viewer: Viewer, booking: Booking, ignore_id: str | None = None
    ) -> list[BookEntry]:
        """Open appointments that `booking` would clash with (for the warning); one of a
        patient this viewer does not see is there, but not his name."""
        start = booking.starts_at
        end = start + dt.timedelta(minutes=booking.duration_minutes)
        rows = self._rows_starting(viewer, start, end, open_only=True)
        n = len(_COLUMNS)
        found = [
            _entry_of(r, display_name(r[n], r[n + 1]) if r[n + 2] else "another patient")
            for r in rows
        ]
        return [
            e for e in found if e.id != ignore_id and overlaps(booking, e) and shares(booking, e)
        ]

    def outside_hours(self, booking: Booking) -> ProviderWeek | None:
        """The provider's hours when `booking` falls outside them (for the warning);
        None when it is inside, or nobody set that provider's hours."""
        if not booking.doctor_id:
            return None
        week = self.hours.all().get(booking.doctor_id)
        if week is None or not outside(week.by_key(), booking.starts_at, booking.duration_minutes):
            return None
        return week

    # Writing --------------------------------------------------------------------------
    def book(self, viewer: Viewer, b: Booking) -> BookEntry:
        fields = _booking_fields(b)
        with self.db.write() as s:
            p = access.check(viewer, s.get(Patient, b.patient_id))
            a = Appointment(patient_id=p.id, status="booked", **fields)
            s.add(a)
            s.flush()
            return _entry(a, display_name(p.first_name, p.last_name))

    def change(self, viewer: Viewer, appointment_id: str, b: Booking) -> BookEntry:
        """Edit, move or resize; the patient may be changed too."""
        fields = _booking_fields(b)
        with self.db.write() as s:
            a = self._mine(s, viewer, appointment_id)
            p = access.check(viewer, s.get(Patient, b.patient_id))
            fields["patient_id"] = p.id
            _assign(a, fields)
            s.flush()
            return _entry(a, display_name(p.first_name, p.last_name))

    def move(
        self,
        viewer: Viewer,
        appointment_id: str,
        starts_at: dt.datetime,
        duration_minutes: int,
        chair_id: str | None,
    ) -> BookEntry:
        current = self.get(viewer, appointment_id)
        return self.change(
            viewer,
            appointment_id,
            Booking(
                current.patient_id,
                starts_at,
                duration_minutes,
                chair_id,
                current.doctor_id,
                current.reason,
                current.note,
            ),
        )

    def set_status(
        self, viewer: Viewer, appointment_id: str, status: str, reason: str | None = None
    ) -> BookEntry:
        """Arrived, in chair, completed, no-show, cancelled (with a reason) or booked
        again; the time and the user are kept with it. Nothing is deleted."""
        if status not in STATUSES:
            raise InvalidRecordError("That is not a status of an appointment.")
        reason = (reason or "").strip() or None
        if status == "cancelled" and not reason:
            raise InvalidRecordError("Say why the appointment is cancelled.")
        with self.db.write() as s:
            a = self._mine(s, viewer, appointment_id)
            fields: dict[str, Any] = {
                "status": status,
                "status_at": utc_now_text(),
                "status_by": viewer.user_id,
            }
            if status == "cancelled":
                fields["cancel_reason"] = reason
            _assign(a, _checked("appointment", fields))
            s.flush()
            p = s.get(Patient, a.patient_id)
            return _entry(a, display_name(p.first_name, p.last_name) if p else "")

    def _mine(self, s: WriteSession, viewer: Viewer, appointment_id: str) -> Appointment:
        a = _live(s.get(Appointment, appointment_id))
        access.check(viewer, s.get(Patient, a.patient_id))
        return a


def _chair_rows(s: Any, active_only: bool = True) -> list[ChairRow]:
    stmt = select(Chair).where(Chair.deleted.is_(False))
    if active_only:
        stmt = stmt.where(Chair.active.is_(True))
    rows = s.scalars(stmt.order_by(Chair.position, Chair.name, Chair.id))
    return [ChairRow(c.id, c.name, c.position, c.active) for c in rows]


def _live(a: Appointment | None) -> Appointment:
    if a is None or a.deleted:
        raise NotFoundError("That appointment no longer exists.")
    return a


def _admin(by: Viewer) -> None:
    if not by.is_admin:
        raise InvalidRecordError("Only an administrator sets up the chairs.")


def _assign(a: Appointment, fields: dict[str, Any]) -> None:
    for name, value in fields.items():
        if getattr(a, name) != value:
            setattr(a, name, value)


def _booking_fields(b: Booking) -> dict[str, Any]:
    if not 5 <= b.duration_minutes <= 12 * 60:
        raise InvalidRecordError("An appointment lasts between 5 minutes and 12 hours.")
    return _checked(
        "appointment",
        {
            "starts_at": utc_text(b.starts_at),
            "duration_minutes": b.duration_minutes,
            "chair_id": b.chair_id,
            "doctor_id": b.doctor_id,
            "reason": b.reason,
            "note": b.note,
        },
    )
