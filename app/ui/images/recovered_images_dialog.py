"""The recovery folder: procedures hidden by the offline-images wizard, kept encrypted
on this computer, attached later to a record of the patient whose page is open. The
files are sealed with the image store's key, so they are read here, not in a file
manager (the folder is no longer offered to open)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.text import counted
from app.imaging.recovery import RecoveredSet, RecoveryFolder
from app.store.dto import VisitRow
from app.store.images.image_filing import AddReport
from app.store.images.images_repo import ImagesRepo
from app.ui.shell.context import AppContext
from app.ui.shell.ops import ReadOp, WriteOp

NEW_RECORD = "__new__"


class RecoveredImagesDialog(QDialog):
    def __init__(self, ctx: AppContext, patient_id: str | None, patient_name: str,
                 parent: QWidget | None = None, recovery: RecoveryFolder | None = None,
                 images: ImagesRepo | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("recoveredImagesDialog")
        self.setWindowTitle("Recovered images")
        self.ctx = ctx
        self.patient_id = patient_id
        self.recovery = recovery or RecoveryFolder()
        self.images = images or ctx.store.images
        self.sets = QListWidget(objectName="recoveredSets")
        self.sets.currentItemChanged.connect(self._picked)
        self.files = QLabel("", objectName="recoveredFiles")
        self.files.setWordWrap(True)
        self.empty = QLabel("The recovery folder is empty.", objectName="recoveredEmpty")
        self.empty.hide()
        self.record = QComboBox(objectName="recoveredRecord")
        who = patient_name or "the open patient"
        self.attach_button = QPushButton(f"Attach to {who}", objectName="attachRecovered")
        self.attach_button.clicked.connect(self.attach)
        self.attach_button.setEnabled(False)
        close = QPushButton("Close", objectName="closeRecovered")
        close.clicked.connect(self.accept)
        self.status = QLabel("", objectName="recoveredStatus")
        self.status.setWordWrap(True)
        if patient_id is None:
            self.status.setText("Open a patient's page to attach these images to one of "
                                "their records.")
        bar = QHBoxLayout()
        bar.addStretch(1)
        bar.addWidget(QLabel("Record"))
        bar.addWidget(self.record)
        bar.addWidget(self.attach_button)
        bar.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Images the sync wizard could not send, kept encrypted on this "
                                "computer until they are attached to a patient's record."))
        layout.addWidget(self.sets, 1)
        layout.addWidget(self.empty)
        layout.addWidget(self.files)
        layout.addWidget(self.status)
        layout.addLayout(bar)
        self.resize(720, 420)
        self.load()

    def load(self) -> None:
        pid, viewer = self.patient_id, self.ctx.viewer

        def read() -> tuple[list[RecoveredSet], list[VisitRow]]:
            visits = self.ctx.store.records.visits(viewer, pid) if pid else []
            return self.recovery.sets(), visits

        ReadOp(read).success(self._show).failure(
            lambda exc: self.status.setText(str(exc))).run(self.ctx.ops)

    def _show(self, found: tuple[list[RecoveredSet], list[VisitRow]]) -> None:
        sets, visits = found
        self.sets.clear()
        for s in sets:
            item = QListWidgetItem(f"{s.label} — {counted(len(s.files), 'file')}")
            item.setData(Qt.ItemDataRole.UserRole, s)
            self.sets.addItem(item)
        self.empty.setVisible(not sets)
        self.sets.setVisible(bool(sets))
        self.record.clear()
        self.record.addItem("New record", NEW_RECORD)
        for v in visits:
            self.record.addItem(" · ".join(p for p in (v.visit_date, v.name) if p), v.id)
        if sets:
            self.sets.setCurrentRow(0)
        else:
            self.files.clear()
        self.attach_button.setEnabled(bool(sets) and self.patient_id is not None)

    def _picked(self, item: QListWidgetItem | None, _old: object = None) -> None:
        if item is None:
            return
        s: RecoveredSet = item.data(Qt.ItemDataRole.UserRole)
        self.files.setText(", ".join(f.name for f in s.files))

    def attach(self) -> None:
        item = self.sets.currentItem()
        if item is None or self.patient_id is None:
            return
        entry: RecoveredSet = item.data(Qt.ItemDataRole.UserRole)
        pid, viewer = self.patient_id, self.ctx.viewer
        record = self.record.currentData()
        visit_id = None if record == NEW_RECORD else record
        new_record = f"Recovered images {dt.date.today().isoformat()}" if visit_id is None \
            else None
        self.attach_button.setEnabled(False)
        self.status.setText("Attaching…")

        def work() -> AddReport:
            report = self.images.add_files(viewer, pid, entry.files, visit_id=visit_id,
                                           new_record=new_record)
            # Only what is now filed leaves the recovery folder.
            filed = {Path(p) for p in entry.files
                     if p.name in {r.filename for r in report.added} | set(report.already)}
            self.recovery.forget(entry, filed)
            return report

        def done(report: AddReport) -> None:
            text = f"Attached {counted(len(report.added), 'image')}."
            if report.failed:
                text += " Not attached: " + "; ".join(r for _n, r in report.failed)
            self.status.setText(text)
            self.load()

        def failed(exc: BaseException) -> None:
            self.status.setText(str(exc))
            self.attach_button.setEnabled(True)

        WriteOp(work, {"images", "visits"}).success(done).failure(failed).run(self.ctx.ops)
