"""A patient's account: the visits' charges and the payments, newest first, with the
balance or the patient's credit. A voided payment stays, struck through, with its reason."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.core.ledger import METHOD_LABELS
from app.core.money import format_money
from app.core.money_papers import receipt_html
from app.store.dto import AgreementRow
from app.store.money.dto import AccountView, LedgerEntry
from app.ui.patients.payment_forms import (
    correct_payment_dialog,
    take_payment_dialog,
    void_payment_dialog,
)
from app.ui.shell.context import AppContext
from app.ui.shell.ops import ReadOp, user_message
from app.ui.widgets.pdf import ask_pdf_path, write_pdf
from app.ui.widgets.table_model import Column, RowRole, RowTableModel, table_view


def _struck(e: LedgerEntry) -> QFont | None:
    if not e.voided:
        return None
    font = QFont()
    font.setStrikeOut(True)
    return font


def _note(e: LedgerEntry) -> str:
    if e.voided:
        return f"Voided: {e.void_reason}"
    return "Corrects an earlier entry" if e.corrects else ""


def _grey(e: LedgerEntry) -> QColor | None:
    return QColor("#777777") if e.voided else None


def _col(header: str, text: Callable[[LedgerEntry], str], right: bool = False
         ) -> Column[LedgerEntry]:
    return Column(header, text, align_right=right, font=_struck, foreground=_grey)


ACCOUNT_COLUMNS: list[Column[LedgerEntry]] = [
    _col("Date", lambda e: e.on),
    _col("Entry", lambda e: e.label),
    _col("Method", lambda e: METHOD_LABELS.get(e.method or "", "")),
    _col("Taken by", lambda e: e.taken_by_name),
    _col("Charge", lambda e: format_money(e.amount) if e.kind == "charge" else "", True),
    _col("Payment", lambda e: format_money(e.amount) if e.kind == "payment" else "", True),
    Column("Note", _note),
]


def summary(acc: AccountView) -> str:
    head = f"Charged {format_money(acc.charged)} · Paid {format_money(acc.paid)} · "
    if acc.credit:
        return head + f"Credit {format_money(acc.credit)}"
    return head + f"Owes {format_money(acc.balance)}"


class AccountTab(QWidget):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.patient_id: str | None = None
        self.agreements: list[AgreementRow] = []
        self.model = RowTableModel(ACCOUNT_COLUMNS, self)
        self.table = table_view(self.model, "accountTable")
        self.summary = QLabel("", objectName="accountSummary")
        self.summary.setStyleSheet("font-weight: 600;")
        self.take = QPushButton("Take payment", objectName="takePayment")
        self.take.clicked.connect(self.take_payment)
        self.void = QPushButton("Void payment", objectName="voidPayment")
        self.void.clicked.connect(self.void_payment)
        self.correct = QPushButton("Correct payment", objectName="correctPayment")
        self.correct.clicked.connect(self.correct_payment)
        self.receipt = QPushButton("Print receipt", objectName="printReceipt")
        self.receipt.clicked.connect(self.print_receipt)
        self.printed = QLabel("", objectName="receiptPrinted")
        bar = QHBoxLayout()
        bar.addWidget(self.summary, 1)
        for b in (self.receipt, self.void, self.correct, self.take):
            bar.addWidget(b)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.printed)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._enable())
        self._enable()

    def set_patient(self, patient_id: str) -> None:
        self.patient_id = patient_id
        self.load()

    def load(self) -> None:
        if not self.patient_id:
            return
        ctx, pid = self.ctx, self.patient_id

        def show(acc: AccountView) -> None:
            if acc.patient_id != self.patient_id:
                return
            self.model.set_rows(acc.entries)
            self.summary.setText(summary(acc))
            self._enable()

        ReadOp(lambda: ctx.store.ledger.account(ctx.viewer, pid)).success(show).run(ctx.ops)

    def selected(self) -> LedgerEntry | None:
        index = self.table.currentIndex()
        e = self.model.data(index, RowRole) if index.isValid() else None
        ok = e is not None and e.kind == "payment" and e.editable and not e.voided
        return e if ok else None

    def _enable(self) -> None:
        chosen = self.selected() is not None
        self.void.setEnabled(chosen)
        self.correct.setEnabled(chosen)
        self.receipt.setEnabled(chosen)

    def take_payment(self) -> None:
        if self.patient_id:
            take_payment_dialog(self.ctx, self.patient_id, self.agreements, self).open()

    def void_payment(self) -> None:
        if e := self.selected():
            void_payment_dialog(self.ctx, e, self).open()

    def correct_payment(self) -> None:
        if e := self.selected():
            correct_payment_dialog(self.ctx, e, self).open()

    def print_receipt(self) -> None:
        e = self.selected()
        if e is None:
            return
        path = ask_pdf_path(self, "Save the receipt", f"Receipt {e.on}.pdf")
        if path is None:
            return
        ctx, pid = self.ctx, e.id

        def work() -> Path:
            r = ctx.store.ledger.receipt(ctx.viewer, pid)
            return write_pdf(receipt_html(r), path, f"Receipt {r.paid_on}")

        self.printed.setText("Printing the receipt…")
        ReadOp(work).success(lambda p: self.printed.setText(f"Receipt saved to {p}")).failure(
            lambda exc: self.printed.setText(user_message(exc, "printing the receipt"))
        ).run(ctx.ops)
