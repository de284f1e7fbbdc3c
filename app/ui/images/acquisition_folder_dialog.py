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
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.imaging import acquisition
from app.ui.shell.context import AppContext
from app.ui.widgets.save_keys import with_save_keys


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
        # The originals are the device's files in plain text: how long they stay is the
        # practice's choice, made by an admin.
        self.admin = ctx.viewer.is_admin
        self.keep_days = QSpinBox(objectName="acquisitionKeepDays")
        self.keep_days.setRange(0, acquisition.MAX_KEEP_DAYS)
        self.keep_days.setSpecialValueText("Keep them")
        self.keep_days.setSuffix(" days")
        self.keep_days.setValue(current.originals_days)
        self.keep_days.setEnabled(self.admin)
        days_row = QHBoxLayout()
        days_label = QLabel("Remove the originals from “imported” after they have been "
                            "sent to the server for")
        days_label.setWordWrap(True)
        days_label.setBuddy(self.keep_days)
        days_row.addWidget(days_label, 1)
        days_row.addWidget(self.keep_days)
        buttons = with_save_keys(QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel))
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
        layout.addLayout(days_row)
        layout.addWidget(QLabel(
            "Chairside keeps its own encrypted copy of every imported file. 0 keeps the "
            "originals for good." + ("" if self.admin else
                                     " Only an administrator can change this.")))
        layout.addWidget(buttons)

    def browse(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Acquisition folder", self.folder.text())
        if chosen:
            self.folder.setText(chosen)

    def save(self) -> None:
        text = self.folder.text().strip()
        acquisition.save_settings(
            self.database,
            acquisition.FolderSettings(
                Path(text) if text else None, self.polling.isChecked(),
                keep_days=self.keep_days.value() if self.admin else None),
        )
        self.accept()
