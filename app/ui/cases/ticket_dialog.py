"""Create a scan ticket: intraoral or face scan, case type, visit type, doctor and a note."""

from __future__ import annotations

from typing import Any

import shiboken6
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from app.store.cases.tickets_repo import TicketRow
from app.ui.shell.context import AppContext
from app.ui.shell.ops import ReadOp, WriteOp, user_message

VISIT_TYPES = ("First visit", "Follow-up", "Treatment", "Retention check")


class TicketDialog(QDialog):
    created = Signal(object)  # TicketRow

    def __init__(self, ctx: AppContext, patient_id: str, patient_name: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.patient_id = patient_id
        self.setObjectName("ticketDialog")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setWindowTitle("Create a scan ticket")
        self.intraoral = QRadioButton("Intraoral scan", objectName="intraoralScan")
        self.face = QRadioButton("Face scan", objectName="faceScan")
        self.intraoral.setChecked(True)
        self.kind = QButtonGroup(self)
        self.kind.addButton(self.intraoral)
        self.kind.addButton(self.face)
        kinds = QHBoxLayout()
        kinds.addWidget(self.intraoral)
        kinds.addWidget(self.face)
        kinds.addStretch(1)
        # Free text with the practice's case types offered: a new type is just typed.
        self.case_type = QComboBox(objectName="ticketCaseType", editable=True)
        self.visit_type = QComboBox(objectName="ticketVisitType", editable=True)
        self.visit_type.addItems(VISIT_TYPES)
        self.doctor = QComboBox(objectName="ticketDoctor")
        self.doctor.addItem("No doctor", None)
        self.note = QPlainTextEdit(objectName="ticketNote")
        self.note.setTabChangesFocus(True)
        self.note.setFixedHeight(80)
        self.error = QLabel("", objectName="formError")
        self.error.setStyleSheet("color: #b00020;")
        self.error.setWordWrap(True)
        self.error.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.create_button = self.buttons.addButton(
            "Create", QDialogButtonBox.ButtonRole.AcceptRole)
        self.create_button.setObjectName("createTicket")
        self.create_button.setDefault(True)
        self.buttons.accepted.connect(self.create_ticket)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("Patient", QLabel(patient_name, objectName="ticketPatient"))
        form.addRow("Scan", kinds)
        form.addRow("Case type", self.case_type)
        form.addRow("Visit type", self.visit_type)
        form.addRow("Doctor", self.doctor)
        form.addRow("Note", self.note)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self._load()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        # Typing starts in the case type, and Enter creates the ticket.
        self.case_type.setFocus(Qt.FocusReason.OtherFocusReason)

    def _alive(self, fn: Any) -> Any:
        return lambda value: fn(value) if shiboken6.isValid(self) else None

    def _load(self) -> None:
        ctx = self.ctx

        def types(found: list[str]) -> None:
            self.case_type.addItems(found)
            self.case_type.setCurrentIndex(-1)

        def doctors(users: list[Any]) -> None:
            for u in users:
                self.doctor.addItem(u.display_name, u.id)
            self.doctor.setCurrentIndex(max(self.doctor.findData(ctx.user.id), 0))

        ReadOp(lambda: ctx.store.patients.case_types(ctx.viewer)).success(
            self._alive(types)).run(ctx.ops)
        ReadOp(ctx.store.users.list).success(self._alive(doctors)).run(ctx.ops)

    def values(self) -> dict[str, Any]:
        return {
            "scan_type": "face" if self.face.isChecked() else "intraoral",
            "case_type": self.case_type.currentText(),
            "visit_type": self.visit_type.currentText(),
            "doctor_id": self.doctor.currentData(),
            "note": self.note.toPlainText(),
        }

    def create_ticket(self) -> None:
        ctx, data, pid = self.ctx, self.values(), self.patient_id
        self.create_button.setEnabled(False)
        WriteOp(lambda: ctx.store.tickets.create(ctx.viewer, pid, data), {"tickets"},
                name="creating the scan ticket").success(self._alive(self._created)).failure(
            self._alive(self._failed)).run(ctx.ops)

    def _created(self, ticket: TicketRow) -> None:
        self.created.emit(ticket)
        self.accept()

    def _failed(self, exc: BaseException) -> None:
        self.create_button.setEnabled(True)
        self.error.setText(f"The scan ticket could not be created. {user_message(exc)}")
        self.error.show()
