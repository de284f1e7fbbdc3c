"""A patient's account: the visits' charges and the payments, each payment an entry of its
own that is voided with a reason or corrected by a new entry, never changed."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select

from app.core import ledger
from app.core.money import format_money, from_wire, to_wire
from app.core.money_papers import WITH_VISIT, Receipt
from app.core.text import display_name
from app.core.wire import PAYMENT_METHODS
from app.store import access
from app.store.db import Database, WriteSession
from app.store.dto import Viewer
from app.store.errors import NotFoundError
from app.store.models import Agreement, Patient, Payment, Visit
from app.store.money.dto import AccountView, LedgerEntry
from app.store.patients.records_repo import (
    InvalidRecordError,
    OverpaymentError,
    agreement_owed,
)
from app.store.schedule.diary_repo import DiaryRepo
from app.store.settings_repo import SettingsRepo


def _patient_payments(patient_ids: list[str]) -> Any:
    legacy = select(Agreement.id).where(Agreement.patient_id.in_(patient_ids))
    return or_(
        Payment.patient_id.in_(patient_ids),
        Payment.patient_id.is_(None) & Payment.agreement_id.in_(legacy),
    )


def _entry(p: Payment, agreement_title: str | None) -> LedgerEntry:
    label = f"On {agreement_title or 'an agreement'}" if p.agreement_id else "Payment"
    return LedgerEntry(
        p.id,
        "payment",
        p.paid_on,
        from_wire(p.amount),
        label,
        p.method,
        p.taken_by_name or "",
        p.agreement_id,
        p.void_reason,
        p.corrects,
    )


class LedgerRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    def account(self, viewer: Viewer, patient_id: str) -> AccountView:
        with self.db.read() as s:
            access.check(viewer, s.get(Patient, patient_id))
            return self._account(s, patient_id)

    def _account(self, s: Any, patient_id: str) -> AccountView:
        ids = access.family(s, patient_id)
        visits = list(
            s.scalars(select(Visit).where(Visit.patient_id.in_(ids), Visit.deleted.is_(False)))
        )
        titles = {
            aid: title
            for aid, title in s.execute(
                select(Agreement.id, Agreement.title).where(Agreement.patient_id.in_(ids))
            )
        }
        payments = list(
            s.scalars(select(Payment).where(_patient_payments(ids), Payment.deleted.is_(False)))
        )
        entries: list[LedgerEntry] = []
        for v in visits:
            if from_wire(v.charge):
                entries.append(
                    LedgerEntry(
                        f"charge:{v.id}",
                        "charge",
                        v.visit_date,
                        from_wire(v.charge),
                        v.name or v.procedure or "Visit",
                        editable=False,
                    )
                )
            if from_wire(v.amount_paid):
                entries.append(
                    LedgerEntry(
                        f"visit:{v.id}",
                        "payment",
                        v.visit_date,
                        from_wire(v.amount_paid),
                        "Paid with the visit",
                        editable=False,
                    )
                )
        entries.extend(_entry(p, titles.get(p.agreement_id or "")) for p in payments)
        # Newest first; on one day the payment shows above the charge it pays.
        entries.sort(key=lambda e: (e.on, e.kind == "payment", e.id), reverse=True)
        acc = ledger.account(
            [ledger.Charge(e.id, e.on, e.amount) for e in entries if e.kind == "charge"],
            [
                ledger.Payment(e.id, e.on, e.amount, void_reason=e.void_reason)
                for e in entries
                if e.kind == "payment"
            ],
        )
        return AccountView(patient_id, acc.charged, acc.paid, acc.balance, acc.credit, entries)

    def take_payment(
        self,
        viewer: Viewer,
        patient_id: str,
        paid_on: str,
        amount: Decimal,
        method: str = "cash",
        *,
        agreement_id: str | None = None,
        allow_excess: bool = False,
    ) -> str:
        """A new entry. One larger than what is owed (on the agreement, or on the account)
        is refused with OverpaymentError unless the user confirmed; the excess is credit."""
        self._check(paid_on, amount, method)
        # Owed is read in the transaction that takes the payment: no other payment slips
        # in between the question and the answer.
        with self.db.write() as s:
            access.check(viewer, s.get(Patient, patient_id))
            if agreement_id is None:
                owed = self._account(s, patient_id).balance
            else:
                owed = agreement_owed(s, agreement_id)
            if ledger.excess(owed, amount) > 0 and not allow_excess:
                where = "on this agreement" if agreement_id else "by this patient"
                raise OverpaymentError(
                    amount, owed, where + "; the rest becomes the patient's credit"
                )
            return self._add(s, viewer, patient_id, paid_on, amount, method, agreement_id)

    def void_payment(self, viewer: Viewer, payment_id: str, reason: str) -> None:
        reason = (reason or "").strip()
        if not reason:
            raise InvalidRecordError("Say why this payment is voided.")
        with self.db.write() as s:
            p = self._payment(s, viewer, payment_id)
            p.void_reason = reason
            p.voided_by = viewer.user_id

    def correct_payment(
        self,
        viewer: Viewer,
        payment_id: str,
        amount: Decimal,
        method: str,
        paid_on: str,
        reason: str = "",
    ) -> str:
        """Voids the entry and takes its replacement in one step; the new entry names the
        one it corrects, so both stay on the account."""
        self._check(paid_on, amount, method)
        with self.db.write() as s:
            old = self._payment(s, viewer, payment_id)
            why = (reason or "").strip()
            old.void_reason = f"Corrected: {why}" if why else "Corrected"
            old.voided_by = viewer.user_id
            pid = old.patient_id or s.get_one(Agreement, old.agreement_id).patient_id
            new_id = self._add(s, viewer, pid, paid_on, amount, method, old.agreement_id)
            s.get_one(Payment, new_id).corrects = old.id
            return new_id

    def receipt(self, viewer: Viewer, payment_id: str) -> Receipt:
        with self.db.read() as s:
            p = s.get(Payment, payment_id)
            if p is None or p.deleted:
                raise NotFoundError("That payment no longer exists.")
            a = s.get(Agreement, p.agreement_id) if p.agreement_id else None
            patient = access.check(viewer, s.get(Patient, p.patient_id or (a and a.patient_id)))
            name = display_name(patient.first_name, patient.last_name)
            item = (a.title or "Treatment agreement") if a else "Payment on account"
            paid_on, amount, method, who = p.paid_on, p.amount, p.method, p.taken_by_name
        practice = SettingsRepo(self.db).get("practice_name") or ""
        return Receipt(
            practice, name, paid_on, from_wire(amount), method, who or "", item, payment_id
        )

    def day_takings(self, viewer: Viewer, day: dt.date) -> list[ledger.Payment]:
        """The day's valid takings as the diary lists them (so the report and the diary's
        total agree): its payments and the amounts paid with its visits."""
        d = DiaryRepo(self.db).day(viewer, day)
        iso = day.isoformat()
        return [
            ledger.Payment(p.id, iso, p.amount, p.method or "other", p.taken_by_name)
            for p in d.payments
        ] + [
            ledger.Payment(f"visit:{v.id}", iso, v.amount_paid, WITH_VISIT)
            for v in d.visits
            if v.amount_paid
        ]

    # ----------------------------------------------------------------------------------
    def _check(self, paid_on: str, amount: Decimal, method: str) -> None:
        if amount <= 0:
            raise InvalidRecordError("A payment must be more than zero.")
        if method not in PAYMENT_METHODS:
            raise InvalidRecordError("Choose how the payment was made.")
        try:
            dt.date.fromisoformat(paid_on)
        except ValueError:
            raise InvalidRecordError("A payment needs a date.") from None

    def _add(
        self,
        s: WriteSession,
        viewer: Viewer,
        patient_id: str,
        paid_on: str,
        amount: Decimal,
        method: str,
        agreement_id: str | None,
    ) -> str:
        access.check(viewer, s.get(Patient, patient_id))
        p = Payment(
            patient_id=patient_id,
            agreement_id=agreement_id,
            paid_on=paid_on,
            amount=to_wire(amount),
            method=method,
            taken_by=viewer.user_id or None,
            taken_by_name=viewer.name or None,
        )
        s.add(p)
        s.flush()
        return p.id

    def _payment(self, s: WriteSession, viewer: Viewer, payment_id: str) -> Payment:
        p = s.get(Payment, payment_id)
        if p is None or p.deleted:
            raise NotFoundError("That payment no longer exists.")
        if p.void_reason is not None:
            raise InvalidRecordError(
                f"This payment of {format_money(from_wire(p.amount))} is already voided."
            )
        pid = p.patient_id or (s.get(Agreement, p.agreement_id) or Agreement()).patient_id
        access.check(viewer, s.get(Patient, pid) if pid else None)
        return p
