"""New patient / edit patient: basic and clinical information, checked as you save.

Errors sit under their field and go as soon as the field is right; a patient who may
already be on file is pointed out before a duplicate is made; closing a changed form
asks first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QMessageBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.patient_rules import ValidationError, clean_patient
from app.core.phone import format_phone
from app.store.dto import PatientDetail
from app.store.patients.patient_matches import Match
from app.ui.patients.patient_form import BASIC, CLINICAL, Input, PatientForm
from app.ui.shell.context import AppContext
from app.ui.shell.ops import ReadOp, WriteOp, user_message
from app.ui.widgets.save_keys import with_save_keys

__all__ = ["BASIC", "CLINICAL", "PatientDialog"]

OFFLINE_NOTE = (
    "There is no connection to the server. This patient is kept on this computer as an "
    "offline patient; when the connection returns, Synchronize offline images asks "
    "whether it is someone the practice already knows."
)
# The details that say who somebody is: an edit that leaves them alone is not checked
# for duplicates again.
IDENTITY = ("first_name", "last_name", "birth_date", "mobile", "id_number")


def describe(match: Match) -> str:
    parts = [match.name]
    if match.birth_date:
        parts.append(f"born {match.birth_date}")
    if match.mobile:
        parts.append(f"mobile {format_phone(match.mobile)}")
    return ", ".join(parts) + f" ({match.reason})"


class PatientDialog(QDialog):
    saved = Signal(object)  # PatientDetail
    openExisting = Signal(str)  # the patient already on file the user chose to open

    def __init__(
        self, ctx: AppContext, patient: PatientDetail | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.patient = patient
        self.setObjectName("patientDialog")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setWindowTitle("Edit patient" if patient else "New patient")
        self.question: QMessageBox | None = None  # the open "are you sure" box, if any
        self._closing = False

        self.form = PatientForm(ctx.user.is_admin)
        self.inputs = self.form.inputs
        self.errors = self.form.errors
        self.doctor = self.form.doctor
        self.form.edited.connect(self._recheck)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.form.basic, "Basic information")
        self.tabs.addTab(self.form.clinical, "Clinical information")
        self.banner = QLabel("", objectName="formError")
        self.banner.setStyleSheet("color: #b00020;")
        self.banner.setWordWrap(True)
        self.banner.hide()
        self.buttons = with_save_keys(QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        ))
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        self.offline_note = QLabel(OFFLINE_NOTE, objectName="offlineNote")
        self.offline_note.setWordWrap(True)
        self.offline_note.hide()
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        self.with_ticket = QCheckBox("Also create a scan ticket", objectName="alsoTicket")
        self.with_ticket.setVisible(patient is None)
        layout.addWidget(self.with_ticket)
        layout.addWidget(self.offline_note)
        layout.addWidget(self.banner)
        layout.addWidget(self.buttons)
        if patient:
            self.form.fill(patient)
        else:
            ReadOp(ctx.store.provisional.working_offline).success(
                self._while_open(self.offline_note.setVisible)).run(ctx.ops)
        self.initial = self.form.values()
        self._load_doctors()

    def _while_open(self, fn: Callable[[Any], None]) -> Callable[[Any], None]:
        """An answer that arrives after the form was closed (and deleted) is dropped."""
        return lambda value: fn(value) if shiboken6.isValid(self) else None

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.inputs["first_name"].setFocus(Qt.FocusReason.OtherFocusReason)

    def _load_doctors(self) -> None:
        ctx = self.ctx

        def fill(users: list[Any]) -> None:
            responsible = self.patient.get("responsible_user_id") if self.patient else None
            current = str(responsible) if responsible else ctx.user.id
            # A doctor made on two PCs under one name is listed once, under the kept id.
            current = next((u.id for u in users if current in u.aliases), current)
            self.form.set_doctors([(u.display_name, u.id) for u in users], current)

        ReadOp(ctx.store.users.list).success(self._while_open(fill)).run(ctx.ops)

    def values(self) -> dict[str, Any]:
        out = self.form.values()
        if self.ctx.user.is_admin and self.doctor.currentData():
            out["responsible_user_id"] = self.doctor.currentData()
        return out

    def changed(self) -> bool:
        return self.form.values() != self.initial or self.form.doctor_changed

    # Errors ---------------------------------------------------------------------------
    def _recheck(self, name: str) -> None:
        """A field marked wrong is checked again as it is edited; once right, its
        message goes."""
        label = self.errors[name]
        if label.isHidden():
            return
        try:
            clean_patient({name: self.form.value(name)})
        except ValidationError as exc:
            label.setText(exc.errors[0].message)
            return
        label.hide()
        if all(e.isHidden() for e in self.errors.values()):
            self.banner.hide()

    def _show_errors(self, exc: ValidationError) -> None:
        first: Input | None = None
        for e in exc.errors:
            label = self.errors.get(e.field)
            if label is not None:
                label.setText(e.message)
                label.show()
                first = first or self.inputs[e.field]
        if first is not None:
            self.tabs.setCurrentWidget(self.form.page_of(first))
            first.setFocus(Qt.FocusReason.OtherFocusReason)
        self.banner.setText("Please correct the fields marked in red.")
        self.banner.show()

    # Saving ---------------------------------------------------------------------------
    def save(self) -> None:
        for label in self.errors.values():
            label.hide()
        self.banner.hide()
        data, ctx = self.values(), self.ctx
        self.buttons.setEnabled(False)
        if self.patient and all(data.get(k) == self.initial.get(k) for k in IDENTITY):
            self._write(data)
            return
        exclude = self.patient.id if self.patient else None
        ReadOp(
            lambda: ctx.store.patients.possible_duplicates(ctx.viewer, data, exclude_id=exclude)
        ).success(self._while_open(lambda found: self._checked(found, data))).failure(
            # The save itself will say what is wrong.
            self._while_open(lambda _exc: self._write(data))
        ).run(ctx.ops)

    def _checked(self, found: list[Match], data: dict[str, Any]) -> None:
        if not found:
            self._write(data)
            return
        self.buttons.setEnabled(True)
        box = QMessageBox(QMessageBox.Icon.Warning, "Possible duplicate", "", parent=self)
        box.setObjectName("duplicateWarning")
        who = "this patient" if len(found) == 1 else "one of these patients"
        box.setText(
            f"The practice may already have {who}:\n\n"
            + "\n".join(describe(m) for m in found[:5])
        )
        box.setInformativeText("Open the patient on file, or save this one as a new patient?")
        open_existing = box.addButton("Open existing patient", QMessageBox.ButtonRole.AcceptRole)
        save_anyway = box.addButton(
            "Save as new patient" if not self.patient else "Save anyway",
            QMessageBox.ButtonRole.DestructiveRole,
        )
        box.addButton("Keep editing", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(open_existing)

        def answered(_result: int) -> None:
            self.question = None
            if box.clickedButton() is open_existing:
                self.openExisting.emit(found[0].id)
                self._close_without_asking()
            elif box.clickedButton() is save_anyway:
                self.buttons.setEnabled(False)
                self._write(data)

        box.finished.connect(answered)
        self.question = box
        box.open()

    def _write(self, data: dict[str, Any]) -> None:
        ctx = self.ctx
        if self.patient:
            pid = self.patient.id
            op = WriteOp(lambda: ctx.store.patients.update(ctx.viewer, pid, data), {"patients"})
        else:
            def create() -> PatientDetail:
                return ctx.store.patients.create(
                    ctx.viewer, data, provisional=ctx.store.provisional.working_offline())

            op = WriteOp(create, {"patients"})
        op.success(self._saved).failure(self._failed).run(ctx.ops)

    def _saved(self, patient: PatientDetail) -> None:
        self.buttons.setEnabled(True)
        self.saved.emit(patient)
        self._closing = True
        self.accept()
        if self.with_ticket.isChecked():
            from app.ui.cases.ticket_dialog import TicketDialog

            # Parented to the window behind: this form is gone once it is accepted.
            ticket = TicketDialog(self.ctx, patient.id, patient.display_name,
                                  self.parentWidget())
            ticket.open()

    def _failed(self, exc: BaseException) -> None:
        self.buttons.setEnabled(True)
        if isinstance(exc, ValidationError):
            self._show_errors(exc)
            return
        self.banner.setText(f"The patient could not be saved. {user_message(exc)}")
        self.banner.show()

    # Closing --------------------------------------------------------------------------
    def reject(self) -> None:
        """Esc, Cancel or the window's close button: a changed form asks first."""
        if self._closing or not self.changed():
            self._close_without_asking()
            return
        if self.question is not None:
            return
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Discard changes?",
            "Close this form and lose what was typed?",
            parent=self,
        )
        box.setObjectName("discardQuestion")
        discard = box.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole)
        keep = box.addButton("Keep editing", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(keep)

        def answered(_result: int) -> None:
            self.question = None
            if box.clickedButton() is discard:
                self._close_without_asking()

        box.finished.connect(answered)
        self.question = box
        box.open()

    def _close_without_asking(self) -> None:
        self._closing = True
        super().reject()

    def keyPressEvent(self, event: Any) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.reject()
            return
        super().keyPressEvent(event)
