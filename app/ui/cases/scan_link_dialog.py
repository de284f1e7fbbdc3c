"""Mark a scan ticket scanned: tick the scans filed for it (those of the newest record
ticked to begin with), so the ticket names them."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)


class ScanLinkDialog(QDialog):
    def __init__(self, groups: list[Any], parent: QWidget | None = None) -> None:
        """`groups`: the patient's RecordImages holding scans of the ticket's kind,
        newest record first."""
        super().__init__(parent)
        self.setObjectName("scanLinkDialog")
        self.setWindowTitle("Mark scanned")
        self.scans = QListWidget(objectName="ticketScans")
        for n, group in enumerate(groups):
            for image in group.images:
                item = QListWidgetItem(f"{group.visit_name or 'No record'} — {image.filename}")
                item.setData(Qt.ItemDataRole.UserRole, image.id)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Checked if n == 0 else Qt.CheckState.Unchecked)
                self.scans.addItem(item)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.ok = buttons.addButton("Mark scanned", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("The scans filed for this ticket:"))
        layout.addWidget(self.scans)
        layout.addWidget(buttons)

    def linked(self) -> list[str]:
        items = [self.scans.item(i) for i in range(self.scans.count())]
        return [i.data(Qt.ItemDataRole.UserRole) for i in items
                if i.checkState() == Qt.CheckState.Checked]
