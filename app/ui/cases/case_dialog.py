"""New lab case: the connected lab (asked of the server), type, due date, instructions
and the patient's images to attach. It is kept as a draft until sent; a draft opens here
again to be changed (a draft case made before labs were connected gets its lab)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from app.store.cases.cases_repo import CaseRow
from app.ui.shell.context import AppContext
from app.ui.shell.ops import ReadOp, WriteOp, user_message
from app.ui.widgets.date_box import DateBox

# (institution code, name) of each lab connected to the practice.
LabSource = Callable[[], list[tuple[str, str]]]


class CaseDialog(QDialog):
    created = Signal(object)  # CaseRow

    def __init__(self, ctx: AppContext, patient_id: str, patient_name: str,
                 labs: LabSource, parent: QWidget | None = None, *,
                 attached: list[str] | None = None, case: CaseRow | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.case = case
        self.attached = set(case.image_ids if case else attached or ())
        self.patient_id = patient_id
        self.setObjectName("caseDialog")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setWindowTitle("Edit case" if case else "Create case")
        self.lab = QComboBox(objectName="caseLab")
        self.lab.setPlaceholderText("Asking the server for the connected labs…")
        self.case_type = QLineEdit(objectName="caseType", placeholderText="e.g. Crown, aligners")
        self.due = DateBox(QDate.currentDate().addDays(7), objectName="caseDue")
        self.instructions = QPlainTextEdit(objectName="caseInstructions")
        self.instructions.setTabChangesFocus(True)
        self.instructions.setFixedHeight(80)
        self.images = QListWidget(objectName="caseImages")
        self.error = QLabel("", objectName="formError", wordWrap=True)
        self.error.setStyleSheet("color: #b00020;")
        self.error.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.create_button = self.buttons.addButton(
            "Save" if case else "Create", QDialogButtonBox.ButtonRole.AcceptRole)
        self.create_button.setObjectName("createCase")
        self.create_button.setEnabled(False)  # until a lab is there to choose
        self.buttons.accepted.connect(self.save_case)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("Patient", QLabel(patient_name))
        form.addRow("Lab", self.lab)
        form.addRow("Case type", self.case_type)
        form.addRow("Due date", self.due)
        form.addRow("Instructions", self.instructions)
        form.addRow("Attach images", self.images)
        if case:
            self.case_type.setText(case.case_type or "")
            self.instructions.setPlainText(case.instructions or "")
            if case.due_date:
                self.due.setDate(QDate.fromString(case.due_date, "yyyy-MM-dd"))
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        ReadOp(labs).success(self._alive(self._labs)).failure(
            self._alive(self._no_labs)).run(ctx.ops)
        viewer, pid = ctx.viewer, patient_id
        ReadOp(lambda: ctx.store.images.by_record(viewer, pid)).success(
            self._alive(self._images)).run(ctx.ops)

    def _alive(self, fn: Any) -> Any:
        return lambda value: fn(value) if shiboken6.isValid(self) else None

    def _labs(self, labs: list[tuple[str, str]]) -> None:
        for code, name in labs:
            self.lab.addItem(name, code)
        if labs:
            chosen = self.lab.findData(self.case.lab_code) if self.case else -1
            self.lab.setCurrentIndex(max(chosen, 0))
            self.create_button.setEnabled(True)
        else:
            self._say("The practice is connected to no lab yet. A lab asks to connect "
                      "from its portal; an administrator approves it in Practice ▸ "
                      "Institution.")

    def _no_labs(self, exc: BaseException) -> None:
        from sync_agent.institution_service import InstitutionRefused

        # The server's refusal is written for the user (sync_agent.institution_service).
        why = str(exc) if isinstance(exc, InstitutionRefused) else user_message(exc)
        self._say(f"The connected labs could not be listed. {why}")

    def _images(self, groups: list[Any]) -> None:
        for group in groups:
            for image in group.images:
                item = QListWidgetItem(f"{group.visit_name or 'No record'} — {image.filename}")
                item.setData(Qt.ItemDataRole.UserRole, image.id)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Checked if image.id in self.attached
                                   else Qt.CheckState.Unchecked)
                self.images.addItem(item)

    def _say(self, text: str) -> None:
        if not self.lab.count():
            self.lab.setPlaceholderText("No lab to choose")
        self.error.setText(text)
        self.error.show()

    def values(self) -> dict[str, Any]:
        checked = [self.images.item(i) for i in range(self.images.count())]
        return {
            "lab_code": self.lab.currentData(),
            "lab_name": self.lab.currentText(),
            "case_type": self.case_type.text(),
            "due_date": self.due.date().toString("yyyy-MM-dd"),
            "instructions": self.instructions.toPlainText(),
            "image_ids": [i.data(Qt.ItemDataRole.UserRole) for i in checked
                          if i.checkState() == Qt.CheckState.Checked],
        }

    def save_case(self) -> None:
        ctx, data, pid, case = self.ctx, self.values(), self.patient_id, self.case
        self.create_button.setEnabled(False)

        def work() -> CaseRow:
            if case is not None:
                return ctx.store.cases.update(ctx.viewer, case.id, data)
            return ctx.store.cases.create(ctx.viewer, pid, data)

        WriteOp(work, {"cases"}, name="saving the case").success(
            self._alive(self._created)).failure(self._alive(self._failed)).run(ctx.ops)

    def _created(self, case: CaseRow) -> None:
        self.created.emit(case)
        self.accept()

    def _failed(self, exc: BaseException) -> None:
        self.create_button.setEnabled(True)
        self._say(f"The case could not be saved. {user_message(exc)}")
