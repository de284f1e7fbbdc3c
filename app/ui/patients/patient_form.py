"""The fields of the patient form, laid out to fit a small screen without scrolling.

Basic information sits in two columns (who and how to reach them / the practice's
own details); each field has its message underneath, wrapped, shown only when wrong.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from app.core.patient_rules import LABELS
from app.store.dto import PatientDetail
from app.ui.widgets.formatting import GENDER_LABELS

LEFT = ("first_name", "last_name", "gender", "birth_date", "mobile", "landline", "email")
RIGHT = ("id_number", "insurance_card_number", "card_number", "case_types", "address", "note")
BASIC = (*LEFT, *RIGHT)
CLINICAL = ("past_medical_history", "diseases", "medications", "oral_habits", "allergies")
MULTILINE = {"address", "note", *CLINICAL}
REQUIRED = {"first_name", "last_name"}
PLACEHOLDERS = {
    "birth_date": "YYYY-MM-DD",
    "mobile": "+44 7700 900123",
    "email": "name@example.com",
    "case_types": "e.g. orthodontics, implant",
}
SHORT_TEXT_LINES = 2  # address and note: two lines show, more scroll inside the box

Input = QLineEdit | QPlainTextEdit | QComboBox


def _form() -> QFormLayout:
    form = QFormLayout()
    # Labels beside their boxes whatever the size or style; boxes take the width.
    form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
    return form


class PatientForm(QObject):
    edited = Signal(str)  # the name of the field the user changed

    def __init__(self, can_choose_doctor: bool) -> None:
        super().__init__()
        self.inputs: dict[str, Input] = {}
        self.errors: dict[str, QLabel] = {}
        self.labels: dict[str, QLabel] = {}
        self._pages: dict[str, QWidget] = {}
        self.doctor_changed = False
        self.doctor = QComboBox(objectName="responsible_user_id")
        self.doctor.setEnabled(can_choose_doctor)
        self.doctor.activated.connect(self._doctor_chosen)

        self.basic = QWidget()
        left, right = _form(), _form()
        self._rows(left, LEFT, self.basic)
        self._rows(right, RIGHT[:4], self.basic)
        doctor_label = QLabel("Responsible doctor")
        self.labels["responsible_user_id"] = doctor_label
        right.addRow(doctor_label, self.doctor)
        self._rows(right, RIGHT[4:], self.basic)
        columns = QHBoxLayout()
        columns.addLayout(left, 1)
        columns.addSpacing(16)
        columns.addLayout(right, 1)
        outer = QVBoxLayout(self.basic)
        outer.addLayout(columns)
        outer.addStretch(1)  # rows keep their height when the window grows

        self.clinical = QWidget()
        form = _form()
        self._rows(form, CLINICAL, self.clinical)
        QVBoxLayout(self.clinical).addLayout(form)

    def _rows(self, form: QFormLayout, names: tuple[str, ...], page: QWidget) -> None:
        for name in names:
            widget = self._input(name)
            widget.setObjectName(name)
            self.inputs[name] = widget
            self._pages[name] = page
            error = QLabel("", objectName=f"{name}_error")
            error.setStyleSheet("color: #b00020;")
            error.setWordWrap(True)
            error.hide()
            self.errors[name] = error
            cell = QVBoxLayout()
            cell.setSpacing(2)
            cell.addWidget(widget)
            cell.addWidget(error)
            label = QLabel(LABELS[name] + (" *" if name in REQUIRED else ""))
            label.setBuddy(widget)
            self.labels[name] = label
            form.addRow(label, cell)

    def _input(self, name: str) -> Input:
        if name == "gender":
            box = QComboBox()
            for value, label in GENDER_LABELS.items():
                box.addItem(label, value)
            box.setCurrentIndex(box.findData("unknown"))
            box.currentIndexChanged.connect(lambda *_: self.edited.emit(name))
            return box
        if name in MULTILINE:
            text = QPlainTextEdit()
            text.setTabChangesFocus(True)
            lines = SHORT_TEXT_LINES if name in ("address", "note") else 3
            line_h = text.fontMetrics().lineSpacing()
            text.setFixedHeight(lines * line_h + 2 * text.frameWidth() + 10)
            text.textChanged.connect(lambda: self.edited.emit(name))
            return text
        line = QLineEdit(placeholderText=PLACEHOLDERS.get(name, ""))
        line.textEdited.connect(lambda *_: self.edited.emit(name))
        return line

    def _doctor_chosen(self, *_: Any) -> None:
        self.doctor_changed = True

    def page_of(self, widget: QWidget) -> QWidget:
        return next(self._pages[n] for n, w in self.inputs.items() if w is widget)

    def set_doctors(self, doctors: list[tuple[str, str]], current: str | None) -> None:
        for name, user_id in doctors:
            self.doctor.addItem(name, user_id)
        self.doctor.setCurrentIndex(max(self.doctor.findData(current), 0))

    def fill(self, patient: PatientDetail) -> None:
        for name, widget in self.inputs.items():
            value = patient.get(name)
            if isinstance(widget, QComboBox):
                widget.setCurrentIndex(max(widget.findData(value or "unknown"), 0))
            elif isinstance(widget, QPlainTextEdit):
                widget.setPlainText(str(value or ""))
            else:
                widget.setText(str(value or ""))

    def value(self, name: str) -> Any:
        widget = self.inputs[name]
        if isinstance(widget, QComboBox):
            return widget.currentData()
        if isinstance(widget, QPlainTextEdit):
            return widget.toPlainText()
        return widget.text()

    def values(self) -> dict[str, Any]:
        return {name: self.value(name) for name in self.inputs}
