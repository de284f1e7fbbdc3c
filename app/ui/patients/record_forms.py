"""The forms of a patient's records: visit, agreement, appointment (payments: see
payment_forms)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from PySide6.QtWidgets import QWidget

from app.core.ledger import excess
from app.core.money import parse_money
from app.store.patients.records_repo import OverpaymentError
from app.ui.shell.context import AppContext
from app.ui.widgets.form_dialog import Field, FormDialog


def _amount(text: str) -> Decimal | None:
    return parse_money(text) if text.strip() else None


def visit_dialog(ctx: AppContext, patient_id: str, parent: QWidget) -> FormDialog:
    # As when taking a payment: paying more than the patient owes, this record's charge
    # included, is asked about first; saving the same amounts again takes it as credit.
    asked: dict[str, Any] = {"key": None}

    def save(v: dict[str, Any]) -> Any:
        minutes = v.pop("next_visit_minutes")
        paid, charge = _amount(v["amount_paid"]), _amount(v["charge"])
        key = (paid, charge)
        if paid and asked["key"] != key:
            owed = ctx.store.ledger.account(ctx.viewer, patient_id).balance + (charge or 0)
            if excess(owed, paid) > 0:
                asked["key"] = key
                raise OverpaymentError(paid, owed, "by this patient, this record's charge "
                                       "included; the rest becomes the patient's credit")
        return ctx.store.records.add_visit(
            ctx.viewer,
            patient_id,
            {
                "visit_date": v["visit_date"],
                "name": v["name"],
                "procedure": v["procedure"],
                "amount_paid": paid,
                "charge": charge,
                "notes": v["notes"],
                "next_visit_date": v["next_visit_date"] if minutes else None,
                "next_visit_minutes": minutes or None,
            },
        )

    return FormDialog(
        ctx,
        "New record",
        [
            Field("visit_date", "Date", "date"),
            Field("name", "Record name", placeholder="e.g. Check-up"),
            Field("procedure", "Procedure / action", "text"),
            Field("charge", "Charge (the procedure's fee)", placeholder="0.00"),
            Field("amount_paid", "Amount paid", placeholder="0.00"),
            Field("notes", "Notes", "text"),
            Field("next_visit_date", "Next visit", "date"),
            Field("next_visit_minutes", "Next visit duration (0: none)", "minutes"),
        ],
        save,
        {"visits"},
        parent,
    )


def agreement_dialog(ctx: AppContext, patient_id: str, parent: QWidget) -> FormDialog:
    def save(v: dict[str, Any]) -> Any:
        return ctx.store.records.add_agreement(
            ctx.viewer,
            patient_id,
            {
                "title": v["title"],
                "total": _amount(v["total"]) or Decimal("0.00"),
                "discount": _amount(v["discount"]) or Decimal("0.00"),
                "tax": _amount(v["tax"]) or Decimal("0.00"),
                "expires_on": v["expires_on"],
                "notes": v["notes"],
            },
        )

    return FormDialog(
        ctx,
        "New agreement",
        [
            Field("title", "Title", placeholder="e.g. Orthodontic treatment"),
            Field("total", "Total", placeholder="0.00"),
            Field("discount", "Discount", placeholder="0.00"),
            Field("tax", "Tax", placeholder="0.00"),
            Field("expires_on", "Expires on", "date"),
            Field("notes", "Notes", "text"),
        ],
        save,
        {"agreements"},
        parent,
    )


def appointment_dialog(ctx: AppContext, patient_id: str, parent: QWidget) -> FormDialog:
    minutes = int(ctx.store.settings.get("default_appointment_minutes"))

    def save(v: dict[str, Any]) -> Any:
        return ctx.store.records.add_appointment(
            ctx.viewer, patient_id, v["starts_at"], v["duration_minutes"], v["reason"]
        )

    return FormDialog(
        ctx,
        "New appointment",
        [
            Field("starts_at", "Starts at", "datetime"),
            Field("duration_minutes", "Duration", "minutes", default=minutes),
            Field("reason", "Reason", "text"),
        ],
        save,
        {"appointments"},
        parent,
    )
