"""Records (visits), appointments, agreements and payments of a patient."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from app.core.money import AgreementTotals, format_money, from_wire, sum_money, to_wire
from app.core.wire import ENTITIES, check_value
from app.store import access
from app.store.db import Database, WriteSession
from app.store.dto import AgreementRow, AppointmentRow, Viewer, VisitRow
from app.store.errors import NotFoundError, StoreError
from app.store.models import Agreement, Appointment, Patient, Payment, Visit


class InvalidRecordError(StoreError):
    pass


class OverpaymentError(InvalidRecordError):
    """A payment larger than what the agreement still owes: taken only when confirmed."""

    def __init__(self, amount: Decimal, owed: Decimal, where: str = "on this agreement") -> None:
        self.amount, self.owed = amount, owed
        owed = max(owed, Decimal("0.00"))
        super().__init__(
            f"This is {format_money(amount - owed)} more than the {format_money(owed)} "
            f"still owed {where}. Save again to take it all the same."
        )


def agreement_owed(s: Any, agreement_id: str) -> Decimal:
    """What an agreement still owes, counting only its valid payments."""
    a = s.get(Agreement, agreement_id)
    if a is None or a.deleted:
        raise NotFoundError("That agreement no longer exists.")
    # Summed here, exactly: SQL would add decimal text as floating point.
    paid = sum_money(from_wire(x) for x in s.scalars(
        select(Payment.amount).where(
            Payment.agreement_id == agreement_id,
            Payment.deleted.is_(False),
            Payment.void_reason.is_(None),
        )
    ))
    return totals_of(a, paid).remaining


def totals_of(a: Agreement, paid: Decimal) -> AgreementTotals:
    zero = Decimal("0.00")
    return AgreementTotals(from_wire(a.total) or zero, from_wire(a.discount) or zero,
                           from_wire(a.tax) or zero, paid)


def wire_money(entity: str, data: dict[str, Any]) -> dict[str, Any]:
    """`data` with its amounts (Decimal) in wire form; anything else is left to _checked."""
    spec = ENTITIES[entity].fields
    return {
        n: to_wire(v) if n in spec and spec[n].kind == "money" and isinstance(v, Decimal) else v
        for n, v in data.items()
    }


def _checked(entity: str, data: dict[str, Any]) -> dict[str, Any]:
    spec = ENTITIES[entity].fields
    out: dict[str, Any] = {}
    for name, value in wire_money(entity, data).items():
        if name not in spec or name in ("patient_id", "deleted"):
            raise KeyError(name)
        if isinstance(value, str):
            value = value.strip() or None
        if spec[name].kind == "money" and isinstance(value, int):
            # Minor units are only read from before; what is written here is Decimal.
            raise TypeError(f"{name}: an amount is a Decimal")
        problem = check_value(spec[name], value)
        if problem:
            raise InvalidRecordError(f"{name.replace('_', ' ').capitalize()} {problem}.")
        out[name] = value
    return out


def visit_row(v: Visit, patient_name: str = "") -> VisitRow:
    return VisitRow(
        v.id,
        v.patient_id,
        v.visit_date,
        v.name,
        v.procedure,
        from_wire(v.amount_paid),
        v.notes,
        v.next_visit_date,
        v.next_visit_minutes,
        patient_name,
        from_wire(v.charge),
        v.bill_insurance,
    )


def appointment_row(a: Appointment, patient_name: str = "") -> AppointmentRow:
    return AppointmentRow(
        a.id, a.patient_id, a.starts_at, a.duration_minutes, a.reason, a.status, patient_name
    )


class RecordsRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    def _patient(self, s: Any, viewer: Viewer, patient_id: str) -> Patient:
        return access.check(viewer, s.get(Patient, patient_id))

    # Visits ---------------------------------------------------------------------------
    def visits(
        self,
        viewer: Viewer,
        patient_id: str,
        date_from: str | None = None,
        date_to: str | None = None,
    ) -> list[VisitRow]:
        """Newest first."""
        with self.db.read() as s:
            self._patient(s, viewer, patient_id)
            ids = access.family(s, patient_id)
            stmt = select(Visit).where(Visit.patient_id.in_(ids), Visit.deleted.is_(False))
            if date_from:
                stmt = stmt.where(Visit.visit_date >= date_from)
            if date_to:
                stmt = stmt.where(Visit.visit_date <= date_to)
            stmt = stmt.order_by(Visit.visit_date.desc(), Visit.id.desc())
            return [visit_row(v) for v in s.scalars(stmt)]

    def add_visit(self, viewer: Viewer, patient_id: str, data: dict[str, Any]) -> VisitRow:
        fields = _checked("visit", data)
        if not fields.get("visit_date"):
            raise InvalidRecordError("A record needs a date.")
        if (from_wire(fields.get("amount_paid")) or 0) < 0:
            raise InvalidRecordError("The amount paid cannot be negative.")
        if (from_wire(fields.get("charge")) or 0) < 0:
            raise InvalidRecordError("The charge cannot be negative.")
        nxt = fields.get("next_visit_date")
        if nxt and nxt < fields["visit_date"]:
            raise InvalidRecordError("The next visit cannot be before this visit.")
        with self.db.write() as s:
            self._patient(s, viewer, patient_id)
            v = Visit(patient_id=patient_id, **fields)
            s.add(v)
            s.flush()
            return visit_row(v)

    def update_visit(self, viewer: Viewer, visit_id: str, data: dict[str, Any]) -> VisitRow:
        fields = _checked("visit", data)
        with self.db.write() as s:
            v = self._visit(s, viewer, visit_id)
            for name, value in fields.items():
                if getattr(v, name) != value:
                    setattr(v, name, value)
            s.flush()
            return visit_row(v)

    def rename_visit(self, viewer: Viewer, visit_id: str, name: str) -> VisitRow:
        return self.update_visit(viewer, visit_id, {"name": name})

    def _visit(self, s: WriteSession, viewer: Viewer, visit_id: str) -> Visit:
        v = s.get(Visit, visit_id)
        if v is None or v.deleted:
            raise NotFoundError("That record no longer exists.")
        self._patient(s, viewer, v.patient_id)
        return v

    # Appointments ---------------------------------------------------------------------
    def appointments(self, viewer: Viewer, patient_id: str) -> list[AppointmentRow]:
        with self.db.read() as s:
            self._patient(s, viewer, patient_id)
            stmt = (
                select(Appointment)
                .where(Appointment.patient_id == patient_id, Appointment.deleted.is_(False))
                .order_by(Appointment.starts_at.desc())
            )
            return [appointment_row(a) for a in s.scalars(stmt)]

    def add_appointment(
        self,
        viewer: Viewer,
        patient_id: str,
        starts_at: dt.datetime,
        duration_minutes: int,
        reason: str | None = None,
    ) -> AppointmentRow:
        if starts_at.tzinfo is None:
            starts_at = starts_at.astimezone()
        if not 5 <= duration_minutes <= 12 * 60:
            raise InvalidRecordError("An appointment lasts between 5 minutes and 12 hours.")
        fields = _checked(
            "appointment",
            {
                "starts_at": starts_at.astimezone(dt.UTC).replace(microsecond=0).isoformat(),
                "duration_minutes": duration_minutes,
                "reason": reason,
                "status": "booked",
            },
        )
        with self.db.write() as s:
            self._patient(s, viewer, patient_id)
            a = Appointment(patient_id=patient_id, **fields)
            s.add(a)
            s.flush()
            return appointment_row(a)

    # Agreements -----------------------------------------------------------------------
    def agreements(
        self, viewer: Viewer, patient_id: str, today: dt.date | None = None
    ) -> list[AgreementRow]:
        today = today or dt.date.today()
        with self.db.read() as s:
            self._patient(s, viewer, patient_id)
            stmt = (
                select(Agreement)
                .where(
                    Agreement.patient_id.in_(access.family(s, patient_id)),
                    Agreement.deleted.is_(False),
                )
                .order_by(Agreement.id.desc())
            )
            agreements = list(s.scalars(stmt))
            paid: dict[str, Decimal] = {}
            for aid, amount in s.execute(
                select(Payment.agreement_id, Payment.amount).where(
                    Payment.agreement_id.in_([a.id for a in agreements]),
                    Payment.deleted.is_(False),
                    Payment.void_reason.is_(None),
                )
            ):
                if aid is None:  # not found by the IN above: for the type checker
                    continue
                paid[aid] = paid.get(aid, Decimal("0.00")) + (from_wire(amount) or 0)
            out = []
            for a in agreements:
                t = totals_of(a, paid.get(a.id, Decimal("0.00")))
                out.append(
                    AgreementRow(
                        a.id,
                        a.patient_id,
                        a.title,
                        t.total,
                        t.discount,
                        t.tax,
                        t.paid,
                        t.remaining,
                        a.expires_on,
                        t.is_expired(a.expires_on, today),
                    )
                )
            return out

    def add_agreement(self, viewer: Viewer, patient_id: str, data: dict[str, Any]) -> str:
        fields = _checked("agreement", data)
        for name in ("total", "discount", "tax"):
            fields.setdefault(name, "0.00")
            if fields[name] is None or Decimal(fields[name]) < 0:
                raise InvalidRecordError(f"The {name} cannot be negative or empty.")
        if Decimal(fields["discount"]) > Decimal(fields["total"]):
            raise InvalidRecordError("The discount cannot be larger than the total.")
        with self.db.write() as s:
            self._patient(s, viewer, patient_id)
            a = Agreement(patient_id=patient_id, **fields)
            s.add(a)
            s.flush()
            return a.id

    def add_payment(
        self,
        viewer: Viewer,
        agreement_id: str,
        paid_on: str,
        amount: Decimal,
        *,
        allow_excess: bool = False,
    ) -> str:
        """A payment against an agreement; one larger than what is still owed is refused
        (OverpaymentError says by how much) unless the user confirmed it."""
        fields = _checked("payment", {"paid_on": paid_on, "amount": amount})
        if amount <= 0:
            raise InvalidRecordError("A payment must be more than zero.")
        with self.db.write() as s:
            a = s.get(Agreement, agreement_id)
            if a is None or a.deleted:
                raise NotFoundError("That agreement no longer exists.")
            self._patient(s, viewer, a.patient_id)
            owed = agreement_owed(s, agreement_id)
            if amount > owed and not allow_excess:
                raise OverpaymentError(amount, owed)
            p = Payment(
                agreement_id=agreement_id,
                patient_id=a.patient_id,
                method="cash",
                taken_by=viewer.user_id or None,
                taken_by_name=viewer.name or None,
                **fields,
            )
            s.add(p)
            s.flush()
            return p.id
