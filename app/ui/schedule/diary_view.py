"""The diary: a day's visits and appointments, the money taken and patients seen."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QDate
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.core.ledger import METHOD_LABELS
from app.core.money_papers import day_report_html
from app.store.dto import AppointmentRow, DiaryDay, DiaryPayment, VisitRow
from app.ui.shell.context import AppContext
from app.ui.shell.ops import ReadOp, user_message
from app.ui.widgets import formatting
from app.ui.widgets.date_box import DateBox
from app.ui.widgets.pdf import ask_pdf_path, write_pdf
from app.ui.widgets.table_model import Column, RowTableModel, table_view

DIARY_VISITS: list[Column[VisitRow]] = [
    Column("Patient", lambda v: v.patient_name),
    Column("Record", lambda v: v.name or ""),
    Column("Procedure / action", lambda v: (v.procedure or "").replace("\n", " ")),
    Column("Paid", lambda v: formatting.money(v.amount_paid), align_right=True),
]
DIARY_APPOINTMENTS: list[Column[AppointmentRow]] = [
    Column("Time", lambda a: formatting.local_time(a.starts_at)[11:]),
    Column("Patient", lambda a: a.patient_name),
    Column("Duration", lambda a: f"{a.duration_minutes} min"),
    Column("Reason", lambda a: a.reason or ""),
    Column("Status", lambda a: a.status.replace("_", " ").capitalize()),
]

DIARY_PAYMENTS: list[Column[DiaryPayment]] = [
    Column("Patient", lambda p: p.patient_name),
    Column("Agreement", lambda p: p.agreement_title or ""),
    Column("Paid", lambda p: formatting.money(p.amount), align_right=True),
    Column("Method", lambda p: METHOD_LABELS.get(p.method or "", "")),
    Column("Taken by", lambda p: p.taken_by_name),
]


class DiaryView(QWidget):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.date = DateBox(QDate.currentDate(), objectName="diaryDate")
        self.date.show_weekday()
        self.date.dateChanged.connect(lambda *_: self.reload())
        prev_day = QPushButton("◀", objectName="previousDay")
        prev_day.clicked.connect(lambda: self.date.setDate(self.date.date().addDays(-1)))
        today = QPushButton("Today", objectName="today")
        today.clicked.connect(lambda: self.date.setDate(QDate.currentDate()))
        next_day = QPushButton("▶", objectName="nextDay")
        next_day.clicked.connect(lambda: self.date.setDate(self.date.date().addDays(1)))
        self.total = QLabel("", objectName="diaryTotal")
        self.patients = QLabel("", objectName="diaryPatients")
        for label in (self.total, self.patients):
            label.setStyleSheet("font-weight: 600;")
        bar = QHBoxLayout()
        for w in (prev_day, self.date, next_day, today):
            bar.addWidget(w)
        bar.addStretch(1)
        bar.addWidget(self.patients)
        bar.addWidget(self.total)
        self.report = QPushButton("Day-end report", objectName="dayReport")
        self.report.clicked.connect(self.print_day_report)
        bar.addWidget(self.report)
        self.visits = RowTableModel(DIARY_VISITS, self)
        self.appointments = RowTableModel(DIARY_APPOINTMENTS, self)
        self.payments = RowTableModel(DIARY_PAYMENTS, self)
        split = QSplitter()
        for title, model, name, fill in (
            ("Appointments", self.appointments, "diaryAppointments", 3),
            ("Visits", self.visits, "diaryVisits", 2),
            ("Payments", self.payments, "diaryPayments", 1),
        ):
            box = QWidget()
            v = QVBoxLayout(box)
            v.addWidget(QLabel(title))
            v.addWidget(table_view(model, name, fill=fill))
            split.addWidget(box)
        self.empty = QLabel("", objectName="diaryEmpty")
        self.next_visits = QLabel("", objectName="diaryNextVisits")
        self.next_visits.setWordWrap(True)
        self.printed = QLabel("", objectName="reportPrinted")
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.empty)
        layout.addWidget(self.next_visits)
        layout.addWidget(split, 1)
        layout.addWidget(self.printed)
        self.reload()

    def reload(self) -> None:
        ctx = self.ctx
        day = self.date.python_date()
        ReadOp(lambda: ctx.store.diary.day(ctx.viewer, day)).success(self._show).run(ctx.ops)

    def _show(self, day: DiaryDay) -> None:
        if day.date != self.date.date().toString("yyyy-MM-dd"):
            return  # an older answer
        self.visits.set_rows(day.visits)
        self.appointments.set_rows(day.appointments)
        self.payments.set_rows(day.payments)
        self.total.setText(f"Total paid: {formatting.money(day.total_paid)}")
        self.patients.setText(
            "1 patient" if day.patient_count == 1 else f"{day.patient_count} patients"
        )
        due = ", ".join(f"{p.patient_name} ({p.minutes} min)" for p in day.next_visits)
        self.next_visits.setText(
            f"Next visits due, not booked yet (book them in the appointment book): {due}"
            if due else ""
        )
        self.next_visits.setVisible(bool(due))
        nothing = not day.visits and not day.appointments and not day.payments
        self.empty.setText("Nothing booked or recorded on this day." if nothing else "")
        self.empty.setVisible(nothing)

    def on_changed(self, flags: set[str]) -> None:
        if flags & {"visits", "appointments", "agreements", "patients"}:
            self.reload()

    def print_day_report(self) -> None:
        """Takings of the shown day by method and by who took them, saved as a PDF."""
        day = self.date.python_date()
        path = ask_pdf_path(self, "Save the day-end report", f"Day-end {day.isoformat()}.pdf")
        if path is None:
            return
        ctx = self.ctx

        def work() -> Path:
            takings = ctx.store.ledger.day_takings(ctx.viewer, day)
            practice = ctx.store.settings.get("practice_name") or ""
            html = day_report_html(practice, day.isoformat(), takings)
            return write_pdf(html, path, f"Day-end report {day.isoformat()}")

        self.printed.setText("Printing the day-end report…")
        ReadOp(work).success(lambda p: self.printed.setText(f"Report saved to {p}")).failure(
            lambda exc: self.printed.setText(user_message(exc, "printing the report"))
        ).run(ctx.ops)
