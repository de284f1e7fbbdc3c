"""The forms of the patient's account: take, void and correct a payment."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QDate
from PySide6.QtWidgets import QWidget

from app.core.ledger import METHOD_LABELS, METHODS
from app.core.money import format_money, parse_money
from app.store.dto import AgreementRow
from app.store.money.dto import LedgerEntry
from app.store.patients.records_repo import OverpaymentError
from app.ui.shell.context import AppContext
from app.ui.widgets.form_dialog import Field, FormDialog

CHANGES = {"agreements", "visits"}
METHOD_CHOICES = tuple((m, METHOD_LABELS[m]) for m in METHODS)


def _money(text: str) -> Any:
    if not text.strip():
        raise ValueError("Enter the amount paid.")
    return parse_money(text)


def take_payment_dialog(
    ctx: AppContext,
    patient_id: str,
    agreements: list[AgreementRow],
    parent: QWidget,
    agreement_id: str | None = None,
) -> FormDialog:
    # A payment above what is owed is asked about first: saving the same payment again
    # after the question takes it, the excess becoming the patient's credit.
    asked: dict[str, Any] = {"key": None}

    def save(v: dict[str, Any]) -> Any:
        amount = _money(v["amount"])
        key = (amount, v["agreement_id"])
        try:
            return ctx.store.ledger.take_payment(
                ctx.viewer, patient_id, v["paid_on"], amount, v["method"],
                agreement_id=v["agreement_id"], allow_excess=asked["key"] == key,
            )
        except OverpaymentError:
            asked["key"] = key
            raise

    against: tuple[tuple[str | None, str], ...] = (
        (None, "The patient's account"),
        *((a.id, f"{a.title or 'Agreement'} (remaining {format_money(a.remaining)})")
          for a in agreements),
    )
    return FormDialog(
        ctx,
        "Take a payment",
        [
            Field("paid_on", "Paid on", "date"),
            Field("amount", "Amount", placeholder="0.00"),
            Field("method", "Method", "choice", "cash", choices=METHOD_CHOICES),
            Field("agreement_id", "Against", "choice", agreement_id, choices=against),
        ],
        save,
        CHANGES,
        parent,
    )


def void_payment_dialog(ctx: AppContext, entry: LedgerEntry, parent: QWidget) -> FormDialog:
    def save(v: dict[str, Any]) -> Any:
        return ctx.store.ledger.void_payment(ctx.viewer, entry.id, v["reason"])

    return FormDialog(
        ctx,
        f"Void the payment of {format_money(entry.amount)} on {entry.on}",
        [Field("reason", "Why", "text")],
        save,
        CHANGES,
        parent,
    )


def correct_payment_dialog(ctx: AppContext, entry: LedgerEntry, parent: QWidget) -> FormDialog:
    def save(v: dict[str, Any]) -> Any:
        return ctx.store.ledger.correct_payment(
            ctx.viewer, entry.id, _money(v["amount"]), v["method"], v["paid_on"], v["reason"]
        )

    return FormDialog(
        ctx,
        "Correct a payment",
        [
            Field("paid_on", "Paid on", "date", QDate.fromString(entry.on, "yyyy-MM-dd")),
            Field("amount", "Amount", default=format_money(entry.amount).replace(",", "")),
            Field("method", "Method", "choice", entry.method or "cash", choices=METHOD_CHOICES),
            Field("reason", "What was wrong", "text"),
        ],
        save,
        CHANGES,
        parent,
    )
