"""The diary: one day's visits and appointments, money taken, patients seen."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from app.core.money import from_wire, sum_money
from app.core.text import display_name
from app.store.access import visible_records as visible
from app.store.db import Database
from app.store.dto import DiaryDay, DiaryPayment, Viewer
from app.store.models import Agreement, Appointment, Patient, Payment, Visit
from app.store.patients.records_repo import appointment_row, visit_row
from app.store.schedule.dto import CLOSED
from app.store.schedule.proposals_repo import due


def local_day_bounds_utc(day: dt.date) -> tuple[str, str]:
    """The UTC instants (ISO text) at which this PC's local day starts and ends."""
    start = dt.datetime.combine(day, dt.time.min).astimezone()
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min).astimezone()
    return (
        start.astimezone(dt.UTC).isoformat(),
        end.astimezone(dt.UTC).isoformat(),
    )


class DiaryRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    def day(self, viewer: Viewer, day: dt.date) -> DiaryDay:
        iso = day.isoformat()
        start, end = local_day_bounds_utc(day)
        with self.db.read() as s:
            visits = [
                visit_row(v, display_name(fn, ln))
                for v, fn, ln in s.execute(
                    select(Visit, Patient.first_name, Patient.last_name)
                    .join(Patient, Patient.id == Visit.patient_id)
                    .where(Visit.visit_date == iso, Visit.deleted.is_(False), visible(viewer))
                    .order_by(Patient.sort_key)
                )
            ]
            appointments = [
                appointment_row(a, display_name(fn, ln))
                for a, fn, ln in s.execute(
                    select(Appointment, Patient.first_name, Patient.last_name)
                    .join(Patient, Patient.id == Appointment.patient_id)
                    .where(
                        Appointment.starts_at >= start,
                        Appointment.starts_at < end,
                        Appointment.deleted.is_(False),
                        visible(viewer),
                    )
                    .order_by(Appointment.starts_at)
                )
            ]
            payments = [
                DiaryPayment(
                    p.id, pid, display_name(fn, ln), title, from_wire(p.amount), p.method,
                    p.taken_by_name or "",
                )
                for p, pid, title, fn, ln in s.execute(
                    select(Payment, Patient.id, Agreement.title, Patient.first_name,
                           Patient.last_name)
                    .outerjoin(Agreement, Agreement.id == Payment.agreement_id)
                    .join(Patient, Patient.id == func.coalesce(
                        Payment.patient_id, Agreement.patient_id))
                    # A voided payment was not taken: neither listed nor counted.
                    .where(Payment.paid_on == iso, Payment.deleted.is_(False),
                           Payment.void_reason.is_(None), visible(viewer))
                    .order_by(Patient.sort_key, Payment.id)
                )
            ]
        # The total is the sum of what the diary lists, so the two always agree.
        total = sum_money(v.amount_paid for v in visits) + sum_money(p.amount for p in payments)
        patients = {v.patient_id for v in visits} | {
            a.patient_id for a in appointments if a.status != "cancelled"
        }
        booked = {(a.patient_id, day) for a in appointments if a.status not in CLOSED}
        next_visits = due(self.db, viewer, day, 1, booked)
        return DiaryDay(iso, visits, appointments, total, len(patients), payments, next_visits)
