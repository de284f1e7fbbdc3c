"""Why an appointment is cancelled: asked before it is, since it is never deleted."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QLineEdit, QVBoxLayout, QWidget

from app.store.schedule.dto import BookEntry


class CancelDialog(QDialog):
    confirmed = Signal(str)  # the reason

    def __init__(self, entry: BookEntry, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("cancelDialog")
        self.setWindowTitle("Cancel appointment")
        local = entry.starts_at.astimezone()
        self.reason = QLineEdit(objectName="cancelReason")
        self.reason.setPlaceholderText("e.g. the patient called, ill")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Cancel appointment")
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("Keep it")
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setEnabled(False)
        self.reason.textChanged.connect(lambda t: self.ok.setEnabled(bool(t.strip())))
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(
            QLabel(f"{entry.patient_name}, {local:%A %d %B %H:%M}. It stays in the book, "
                   "marked cancelled. Why is it cancelled?")
        )
        layout.addWidget(self.reason)
        layout.addWidget(self.buttons)

    def _accept(self) -> None:
        reason = self.reason.text().strip()
        if reason:
            self.confirmed.emit(reason)
            self.accept()
