"""New patient / edit patient: basic and clinical information, checked as you save."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.patient_rules import LABELS, ValidationError
from app.store.dto import PatientDetail
from app.store.offline_images_repo import working_offline
from app.ui.context import AppContext
from app.ui.formatting import GENDER_LABELS
from app.ui.ops import ReadOp, WriteOp

BASIC = (
    "first_name",
    "last_name",
    "gender",
    "birth_date",
    "mobile",
    "landline",
    "id_number",
    "insurance_card_number",
    "email",
    "address",
    "card_number",
    "case_types",
    "note",
)
CLINICAL = ("past_medical_history", "diseases", "medications", "oral_habits", "allergies")
MULTILINE = {"address", "note", *CLINICAL}
PLACEHOLDERS = {
    "birth_date": "YYYY-MM-DD",
    "mobile": "+44 7700 900123",
    "email": "name@example.com",
    "case_types": "e.g. orthodontics, implant",
}


OFFLINE_NOTE = (
    "There is no connection to the server. This patient is kept on this computer as an "
    "offline patient; when the connection returns, Synchronize offline images asks "
    "whether it is someone the practice already knows."
)


class PatientDialog(QDialog):
    saved = Signal(object)  # PatientDetail

    def __init__(
        self, ctx: AppContext, patient: PatientDetail | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.patient = patient
        self.setObjectName("patientDialog")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setWindowTitle("Edit patient" if patient else "New patient")
        self.setMinimumWidth(520)
        self.inputs: dict[str, QLineEdit | QPlainTextEdit | QComboBox] = {}
        self.errors: dict[str, QLabel] = {}

        tabs = QTabWidget()
        tabs.addTab(self._form(BASIC), "Basic information")
        tabs.addTab(self._form(CLINICAL), "Clinical information")
        self.banner = QLabel("", objectName="formError")
        self.banner.setStyleSheet("color: #b00020;")
        self.banner.setWordWrap(True)
        self.banner.hide()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        self.offline_note = QLabel(OFFLINE_NOTE, objectName="offlineNote")
        self.offline_note.setWordWrap(True)
        self.offline_note.hide()
        layout.addWidget(tabs, 1)
        layout.addWidget(self.offline_note)
        layout.addWidget(self.banner)
        layout.addWidget(self.buttons)
        if patient:
            self._fill(patient)
        else:
            ReadOp(lambda: working_offline(ctx.store.db)).success(
                self.offline_note.setVisible).run(ctx.ops)
        self._load_doctors()

    def _form(self, names: tuple[str, ...]) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        for name in names:
            if name == "gender":
                box = QComboBox()
                for value, label in GENDER_LABELS.items():
                    box.addItem(label, value)
                box.setCurrentIndex(box.findData("unknown"))
                widget: QLineEdit | QPlainTextEdit | QComboBox = box
            elif name in MULTILINE:
                widget = QPlainTextEdit()
                widget.setTabChangesFocus(True)
                widget.setFixedHeight(60)
            else:
                widget = QLineEdit(placeholderText=PLACEHOLDERS.get(name, ""))
            widget.setObjectName(name)
            self.inputs[name] = widget
            error = QLabel("", objectName=f"{name}_error")
            error.setStyleSheet("color: #b00020;")
            error.hide()
            self.errors[name] = error
            cell = QWidget()
            v = QVBoxLayout(cell)
            v.setContentsMargins(0, 0, 0, 0)
            v.addWidget(widget)
            v.addWidget(error)
            required = name in ("first_name", "last_name")
            form.addRow(LABELS[name] + (" *" if required else ""), cell)
        if names is BASIC:
            self.doctor = QComboBox(objectName="responsible_user_id")
            self.doctor.setEnabled(self.ctx.user.is_admin)
            form.addRow("Responsible doctor", self.doctor)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(page)
        return scroll

    def _load_doctors(self) -> None:
        ctx = self.ctx

        def fill(users: list[Any]) -> None:
            current = (self.patient.get("responsible_user_id") if self.patient else None) or (
                ctx.user.id
            )
            for u in users:
                self.doctor.addItem(u.display_name, u.id)
            self.doctor.setCurrentIndex(max(self.doctor.findData(current), 0))

        ReadOp(ctx.store.users.list).success(fill).run(ctx.ops)

    def _fill(self, patient: PatientDetail) -> None:
        for name, widget in self.inputs.items():
            value = patient.get(name)
            if isinstance(widget, QComboBox):
                widget.setCurrentIndex(max(widget.findData(value or "unknown"), 0))
            elif isinstance(widget, QPlainTextEdit):
                widget.setPlainText(str(value or ""))
            else:
                widget.setText(str(value or ""))

    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, widget in self.inputs.items():
            if isinstance(widget, QComboBox):
                out[name] = widget.currentData()
            elif isinstance(widget, QPlainTextEdit):
                out[name] = widget.toPlainText()
            else:
                out[name] = widget.text()
        if self.ctx.user.is_admin and self.doctor.currentData():
            out["responsible_user_id"] = self.doctor.currentData()
        return out

    def save(self) -> None:
        for label in self.errors.values():
            label.hide()
        self.banner.hide()
        data, ctx = self.values(), self.ctx
        self.buttons.setEnabled(False)
        if self.patient:
            pid = self.patient.id
            op = WriteOp(lambda: ctx.store.patients.update(ctx.viewer, pid, data), {"patients"})
        else:
            def create() -> PatientDetail:
                return ctx.store.patients.create(
                    ctx.viewer, data, provisional=working_offline(ctx.store.db))

            op = WriteOp(create, {"patients"})
        op.success(self._saved).failure(self._failed).run(ctx.ops)

    def _saved(self, patient: PatientDetail) -> None:
        self.buttons.setEnabled(True)
        self.saved.emit(patient)
        self.accept()

    def _failed(self, exc: BaseException) -> None:
        self.buttons.setEnabled(True)
        if isinstance(exc, ValidationError):
            for e in exc.errors:
                label = self.errors.get(e.field)
                if label is not None:
                    label.setText(e.message)
                    label.show()
            self.banner.setText("Please correct the fields marked in red.")
        else:
            self.banner.setText(f"The patient could not be saved: {exc}")
        self.banner.show()

    def keyPressEvent(self, event: Any) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.reject()
            return
        super().keyPressEvent(event)
