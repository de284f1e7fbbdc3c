"""Where this PC's imaging device drops its files: kept per PC (and per practice
database) in the config folder, read by the sync agent, which watches it."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.imaging import acquisition
from app.ui.shell.context import AppContext


class AcquisitionFolderDialog(QDialog):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("acquisitionFolderDialog")
        self.setWindowTitle("Acquisition folder")
        self.database = ctx.store.db.path
        current = acquisition.load_settings(self.database)
        self.folder = QLineEdit(str(current.folder or ""), objectName="acquisitionFolder")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self.browse)
        self.polling = QCheckBox("The folder is on a network share (check it every few "
                                 "seconds)", objectName="acquisitionPolling")
        self.polling.setChecked(current.polling)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(self.folder, 1)
        row.addWidget(browse)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(
            "Files an imaging device writes into this folder are imported by the sync "
            "service, also while Chairside is closed, for the patient whose acquisition "
            "is active on this computer. Imported files move to its “imported” subfolder."))
        layout.addLayout(row)
        layout.addWidget(self.polling)
        layout.addWidget(buttons)

    def browse(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Acquisition folder", self.folder.text())
        if chosen:
            self.folder.setText(chosen)

    def save(self) -> None:
        text = self.folder.text().strip()
        acquisition.save_settings(
            self.database,
            acquisition.FolderSettings(Path(text) if text else None, self.polling.isChecked()),
        )
        self.accept()
