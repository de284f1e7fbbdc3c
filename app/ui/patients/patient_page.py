"""A patient's file: basic and clinical information, records, agreements, appointments."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.medical_alert import alert_text
from app.core.patient_rules import LABELS
from app.core.phone import format_phone
from app.store.dto import AgreementRow, AppointmentRow, PatientDetail, VisitRow
from app.store.errors import NotFoundError
from app.ui.cases.cases_tab import CasesTab
from app.ui.cases.tickets_tab import TicketsTab
from app.ui.images.images_tab import ImagesTab
from app.ui.patients.account_tab import AccountTab
from app.ui.patients.patient_dialog import BASIC, CLINICAL, PatientDialog
from app.ui.patients.payment_forms import take_payment_dialog
from app.ui.patients.record_forms import agreement_dialog, visit_dialog
from app.ui.patients.reports_tab import ReportsTab
from app.ui.shell.context import AppContext
from app.ui.shell.ops import ReadOp, WriteOp
from app.ui.widgets import formatting
from app.ui.widgets.date_box import DateBox
from app.ui.widgets.table_model import Column, RowRole, RowTableModel, table_view

VISIT_COLUMNS: list[Column[VisitRow]] = [
    Column("Date", lambda v: v.visit_date),
    Column("Record name", lambda v: v.name or ""),
    Column("Procedure / action", lambda v: (v.procedure or "").replace("\n", " ")),
    Column("Paid", lambda v: formatting.money(v.amount_paid), align_right=True),
    Column("Charged", lambda v: formatting.money(v.charge)
           + (" (insurance)" if v.bill_insurance else ""), align_right=True),
    Column("Notes", lambda v: (v.notes or "").replace("\n", " ")),
    Column(
        "Next visit",
        lambda v: (
            f"{v.next_visit_date} ({v.next_visit_minutes} min)" if v.next_visit_minutes else ""
        ),
    ),
]
AGREEMENT_COLUMNS: list[Column[AgreementRow]] = [
    Column("Agreement", lambda a: a.title or ""),
    Column("Total", lambda a: formatting.money(a.total), align_right=True),
    Column("Discount", lambda a: formatting.money(a.discount), align_right=True),
    Column("Tax", lambda a: formatting.money(a.tax), align_right=True),
    Column("Paid", lambda a: formatting.money(a.paid), align_right=True),
    Column("Remaining", lambda a: formatting.money(a.remaining), align_right=True),
    Column(
        "Expires",
        lambda a: (a.expires_on or "") + ("  EXPIRED" if a.expired else ""),
        foreground=lambda a: QColor("#b00020") if a.expired else None,
    ),
]
APPOINTMENT_COLUMNS: list[Column[AppointmentRow]] = [
    Column("When", lambda a: formatting.local_time(a.starts_at)),
    Column("Duration", lambda a: f"{a.duration_minutes} min"),
    Column("Reason", lambda a: a.reason or ""),
    Column("Status", lambda a: a.status.replace("_", " ").capitalize()),
]


def field_text(name: str, value: object) -> str:
    """A patient's field as his page shows it."""
    if name == "gender":
        return formatting.gender(str(value))
    if name == "birth_date":
        return formatting.birth_and_age(value if isinstance(value, str) else None)
    if name in ("mobile", "landline"):
        return format_phone(value if isinstance(value, str) else None)
    return str(value or "")


class PatientPage(QWidget):
    closed = Signal()
    gone = Signal(str)  # the patient shown left this PC: a merge, a move to another clinic

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:  # noqa: PLR0915
        super().__init__(parent)
        self.ctx = ctx
        self.patient: PatientDetail | None = None
        self._wanted: str | None = None
        self.title = QLabel("", objectName="patientTitle")
        self.title.setStyleSheet("font-size: 18px; font-weight: 600;")
        back = QPushButton("← Patients", objectName="backToList")
        back.clicked.connect(self.closed.emit)
        self.edit = QPushButton("Edit patient", objectName="editPatient")
        self.edit.clicked.connect(self.edit_patient)
        self.find_duplicates = QPushButton("Merge patient data…", objectName="findDuplicates")
        self.find_duplicates.setToolTip("Find similar patients and merge them into this one")
        self.find_duplicates.clicked.connect(self.merge_duplicates)
        self.make_report = QPushButton("Health checking report…", objectName="makeReport")
        self.make_report.clicked.connect(self.health_report)
        self.report_dialog: Any = None
        self.undo_merge = QPushButton("Undo merge…", objectName="undoMerge")
        self.undo_merge.clicked.connect(self.undo_a_merge)
        self.undo_merge.hide()
        self.merges: list[Any] = []  # merges into this patient that can still be undone
        self.merge_dialog: Any = None
        head = QHBoxLayout()
        head.addWidget(back)
        head.addWidget(self.title, 1)
        head.addWidget(self.undo_merge)
        self.new_ticket = QPushButton("Create scan ticket…", objectName="createScanTicket")
        self.new_ticket.clicked.connect(self._create_ticket)
        head.addWidget(self.new_ticket)
        head.addWidget(self.make_report)
        head.addWidget(self.find_duplicates)
        head.addWidget(self.edit)
        # Above the tabs, so it shows whichever tab is open.
        self.alert = QLabel("", objectName="medicalAlert")
        self.alert.setWordWrap(True)
        self.alert.setStyleSheet(
            "background: #fdecea; color: #8a1020; border: 1px solid #b00020;"
            " border-radius: 4px; padding: 4px 8px; font-weight: 600;"
        )
        self.alert.hide()

        self.tabs = QTabWidget(objectName="patientTabs")
        self.basic_labels = self._info_tab(BASIC, "Basic information")
        self.clinical_labels = self._info_tab(CLINICAL, "Clinical information")
        self.visits = RowTableModel(VISIT_COLUMNS, self)
        self.agreements = RowTableModel(AGREEMENT_COLUMNS, self)
        self.appointments = RowTableModel(APPOINTMENT_COLUMNS, self)
        self._records_tab()
        self.account = AccountTab(ctx)
        self.tabs.addTab(self.account, "Account")
        self._agreements_tab()
        self._appointments_tab()
        self.images_tab = ImagesTab(ctx)
        self.tabs.addTab(self.images_tab, "Images")
        self.reports = ReportsTab(ctx, self.images_tab.images)
        self.tabs.addTab(self.reports, "Reports")
        self.tickets = TicketsTab(ctx)
        self.tabs.addTab(self.tickets, "Scan tickets")
        self.cases = CasesTab(ctx)
        self.tabs.addTab(self.cases, "Cases")
        self.images_tab.caseRequested.connect(self.cases.create_case)
        # Files dropped anywhere on the page are added as images.
        self.setAcceptDrops(True)
        self.installEventFilter(self.images_tab.drop_target)
        layout = QVBoxLayout(self)
        layout.addLayout(head)
        layout.addWidget(self.alert)
        layout.addWidget(self.tabs, 1)

    def _info_tab(self, names: tuple[str, ...], title: str) -> dict[str, QLabel]:
        page = QWidget()
        form = QFormLayout(page)
        labels = {}
        for name in names:
            label = QLabel("", objectName=f"info_{name}")
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setWordWrap(True)
            labels[name] = label
            form.addRow(LABELS[name] + ":", label)
        self.tabs.addTab(page, title)
        return labels

    def _records_tab(self) -> None:
        page = QWidget()
        self.range_on = QCheckBox("Only between", objectName="recordRange")
        self.range_from = DateBox(QDate.currentDate().addYears(-1), objectName="rangeFrom")
        self.range_to = DateBox(QDate.currentDate(), objectName="rangeTo")
        for box in (self.range_from, self.range_to):
            box.dateChanged.connect(lambda *_: self.load_visits())
        self.range_on.toggled.connect(lambda *_: self.load_visits())
        add = QPushButton("New record", objectName="newRecord")
        add.clicked.connect(self.add_visit)
        rename = QPushButton("Rename record", objectName="renameRecord")
        rename.clicked.connect(self.rename_visit)
        bar = QHBoxLayout()
        for w in (self.range_on, self.range_from, QLabel("and"), self.range_to):
            bar.addWidget(w)
        bar.addStretch(1)
        bar.addWidget(rename)
        bar.addWidget(add)
        self.visit_table = table_view(self.visits, "visitTable")
        self.visit_table.doubleClicked.connect(lambda *_: self.rename_visit())
        self.visits_empty = QLabel("No records yet.", objectName="visitsEmpty")
        v = QVBoxLayout(page)
        v.addLayout(bar)
        v.addWidget(self.visits_empty)
        v.addWidget(self.visit_table, 1)
        self.tabs.addTab(page, "Records")

    def _agreements_tab(self) -> None:
        page = QWidget()
        add = QPushButton("New agreement", objectName="newAgreement")
        add.clicked.connect(lambda: self._form(agreement_dialog))
        pay = QPushButton("Add payment", objectName="addPayment")
        pay.clicked.connect(self.add_payment)
        bar = QHBoxLayout()
        bar.addStretch(1)
        bar.addWidget(pay)
        bar.addWidget(add)
        self.agreement_table = table_view(self.agreements, "agreementTable")
        self.agreement_totals = QLabel("", objectName="agreementTotals")
        v = QVBoxLayout(page)
        v.addLayout(bar)
        v.addWidget(self.agreement_table, 1)
        v.addWidget(self.agreement_totals)
        self.tabs.addTab(page, "Agreements")

    def _appointments_tab(self) -> None:
        page = QWidget()
        add = QPushButton("New appointment", objectName="newAppointment")
        add.clicked.connect(self.book_appointment)
        bar = QHBoxLayout()
        bar.addStretch(1)
        bar.addWidget(add)
        v = QVBoxLayout(page)
        v.addLayout(bar)
        v.addWidget(table_view(self.appointments, "appointmentTable"), 1)
        self.tabs.addTab(page, "Appointments")

    # Loading --------------------------------------------------------------------------
    def open(self, patient_id: str) -> None:
        ctx = self.ctx
        # Reads run side by side: a refresh of the previous patient may answer after
        # the patient asked for last, and must not replace him.
        self._wanted = patient_id
        ReadOp(lambda: ctx.store.patients.get(ctx.viewer, patient_id)).success(self._show).run(
            ctx.ops
        )

    def _reopen(self) -> None:
        assert self.patient is not None
        ctx, shown = self.ctx, self.patient

        def failed(exc: BaseException) -> None:
            if not isinstance(exc, NotFoundError):
                ctx.ops.unhandled(op, exc)
            elif self.patient is shown:
                # A pulled change took him away (e.g. his clinic's data moved to another
                # clinic): a warning box about a patient the user did not ask for would
                # only puzzle; the page closes and the status bar says why.
                self.patient = None
                self.gone.emit(f"{shown.display_name} is no longer on this computer: the "
                               "practice's data changed on the server.")

        op = ReadOp(lambda: ctx.store.patients.get(ctx.viewer, shown.id))
        op.success(self._show).failure(failed).run(ctx.ops)

    def _show(self, patient: PatientDetail) -> None:
        if patient.id != self._wanted:
            return
        self.patient = patient
        merged = bool(patient.get("merged_into"))
        self.title.setText(
            patient.display_name + ("  (offline, provisional)" if patient.provisional else "")
            # Open here while another PC merged him: what is added now still reaches the
            # kept patient, but the user should know.
            + ("  (merged into another patient)" if merged else "")
        )
        self.find_duplicates.setVisible(not merged)
        for name, label in {**self.basic_labels, **self.clinical_labels}.items():
            label.setText(field_text(name, patient.get(name)) or "—")
        alert = alert_text(patient.fields)
        self.alert.setText("⚠ " + alert if alert else "")
        self.alert.setVisible(bool(alert))
        self.load_visits()
        self.load_agreements()
        self.load_appointments()
        self.load_merges()
        self.account.set_patient(patient.id)
        self.images_tab.set_patient(patient.id, patient.display_name)
        self.reports.set_patient(patient.id)
        self.tickets.set_patient(patient.id, patient.display_name)
        self.cases.set_patient(patient.id, patient.display_name)

    def load_visits(self) -> None:
        if not self.patient:
            return
        ctx, pid = self.ctx, self.patient.id
        on = self.range_on.isChecked()
        start = self.range_from.date().toString("yyyy-MM-dd") if on else None
        end = self.range_to.date().toString("yyyy-MM-dd") if on else None

        def show(rows: list[VisitRow]) -> None:
            self.visits.set_rows(rows)
            self.visits_empty.setVisible(not rows)

        ReadOp(lambda: ctx.store.records.visits(ctx.viewer, pid, start, end)).success(show).run(
            ctx.ops
        )

    def load_agreements(self) -> None:
        if not self.patient:
            return
        ctx, pid = self.ctx, self.patient.id

        def show(rows: list[AgreementRow]) -> None:
            self.agreements.set_rows(rows)
            self.account.agreements = rows
            remaining = sum((a.remaining for a in rows), Decimal(0))
            self.agreement_totals.setText(
                f"Remaining on all agreements: {formatting.money(remaining)}"
                if rows
                else "No agreements yet."
            )

        ReadOp(lambda: ctx.store.records.agreements(ctx.viewer, pid)).success(show).run(ctx.ops)

    def load_appointments(self) -> None:
        if not self.patient:
            return
        ctx, pid = self.ctx, self.patient.id
        ReadOp(lambda: ctx.store.records.appointments(ctx.viewer, pid)).success(
            self.appointments.set_rows
        ).run(ctx.ops)

    def load_merges(self) -> None:
        if not self.patient:
            return
        ctx, pid = self.ctx, self.patient.id

        def show(rows: list[Any]) -> None:
            if self.patient and self.patient.id == pid:
                self.merges = rows
                self.undo_merge.setVisible(bool(rows))

        ReadOp(lambda: ctx.store.merges.merges(ctx.viewer, pid)).success(show).run(ctx.ops)

    def on_changed(self, flags: set[str]) -> None:
        if not self.patient or not self.isVisible():
            return
        if "patients" in flags:
            self._reopen()
            return
        if "visits" in flags:
            self.load_visits()
        if "agreements" in flags:
            self.load_agreements()
        if flags & {"agreements", "visits"}:
            self.account.load()
        if "appointments" in flags:
            self.load_appointments()
        self.images_tab.on_changed(flags)
        self.tickets.on_changed(flags)
        self.cases.on_changed(flags)
        if flags & {"images", "visits", "external"}:
            self.reports.load()

    # Actions --------------------------------------------------------------------------
    def _create_ticket(self) -> None:
        self.tickets.create_ticket()

    def edit_patient(self) -> None:
        if self.patient:
            dialog = PatientDialog(self.ctx, self.patient, self)
            dialog.openExisting.connect(self.open)
            dialog.open()

    def merge_duplicates(self) -> None:
        from app.ui.patients.merge_dialog import MergeDialog

        if self.patient:
            self.merge_dialog = MergeDialog(self.ctx, self.patient.id,
                                            self.patient.display_name, self)
            self.merge_dialog.open()

    def health_report(self) -> None:
        from app.ui.patients.report_dialog import ReportDialog

        if self.patient:
            self.report_dialog = ReportDialog(self.ctx, self.patient, self.images_tab.images,
                                              self)
            self.report_dialog.made.connect(self.reports.load)
            self.report_dialog.open()

    def undo_a_merge(self) -> None:
        from app.ui.patients.merge_dialog import undo_merge

        if self.patient:
            self.merge_question = undo_merge(self.ctx, self, self.patient.display_name,
                                             self.merges)

    def book_appointment(self) -> None:
        """The appointment book's dialog, this patient chosen (chair, provider, clash)."""
        from app.ui.schedule.booking_flow import book_for_patient

        if self.patient:
            self.booking = book_for_patient(
                self.ctx, self, self.patient.id, self.title.text() or ""
            )

    def add_visit(self) -> None:
        self._form(visit_dialog)

    def _form(self, factory: Any) -> None:
        if self.patient:
            factory(self.ctx, self.patient.id, self).open()

    def add_payment(self) -> None:
        index = self.agreement_table.currentIndex()
        row = self.agreements.data(index, RowRole) if index.isValid() else None
        if row is None and self.agreements.rows:
            row = self.agreements.rows[0]
        if row is not None and self.patient:
            take_payment_dialog(
                self.ctx, self.patient.id, self.agreements.rows, self, agreement_id=row.id
            ).open()

    def rename_visit(self) -> None:
        index = self.visit_table.currentIndex()
        if not index.isValid():
            return
        visit: VisitRow = self.visits.data(index, RowRole)
        name, ok = QInputDialog.getText(
            self, "Rename record", "Record name:", text=visit.name or ""
        )
        if ok and name.strip():  # emptied by mistake: the record keeps its name
            ctx = self.ctx
            WriteOp(
                lambda: ctx.store.records.rename_visit(ctx.viewer, visit.id, name), {"visits"}
            ).run(ctx.ops)
