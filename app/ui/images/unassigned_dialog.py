"""Images from the acquisition folder waiting for a person: unassigned (no acquisition
was active), quarantined (their DICOM header names someone else), failed (not
imported; the file is still in the folder). Waiting ones are attached to the patient
whose page opened this dialog, or, opened from the main window, to a patient found by
name or number; quarantined ones only after the reason was shown and accepted."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.core.text import counted
from app.store.dto import PatientFilter, PatientRow
from app.store.images.acquisition_repo import InboxRow
from app.store.images.image_filing import AddReport
from app.store.images.image_rows import ImageRow
from app.ui.shell.context import AppContext
from app.ui.shell.ops import ReadOp, WriteOp
from app.ui.widgets import formatting
from app.ui.widgets.table_model import Column, RowRole, RowTableModel

STATUS = {"unassigned": "Waiting", "quarantined": "Quarantined", "failed": "Failed"}
COLUMNS: list[Column[InboxRow]] = [
    Column("File", lambda r: r.filename),
    Column("Status", lambda r: STATUS.get(r.status, r.status)),
    Column("Kind", lambda r: r.kind.replace("_", " ")),
    Column("DICOM patient", lambda r: (r.dicom_patient or "").replace("^", ", ")
           + (f" ({r.dicom_birth_date})" if r.dicom_birth_date else "")),
    Column("Arrived", lambda r: formatting.local_time(r.found_at)),
    Column("Reason", lambda r: r.reason or "", tooltip=lambda r: r.reason or ""),
]


class UnassignedDialog(QDialog):
    def __init__(self, ctx: AppContext, patient_id: str | None, patient_name: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("unassignedDialog")
        self.setWindowTitle("Unassigned images")
        self.ctx = ctx
        self.patient_id = patient_id
        self.patient_name = patient_name
        self.viewer: QDialog | None = None
        self.repo = ctx.store.acquisition
        self.model = RowTableModel(COLUMNS, self)
        self.table = QTableView(objectName="inboxTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        who = patient_name or "the open patient"
        self.attach_button = QPushButton(f"Attach to {who}", objectName="attachImages")
        if patient_id is None:
            self.attach_button.setText("Attach to a patient…")
        self.attach_button.clicked.connect(self.attach_selected)
        self.preview_button = QPushButton("Preview…", objectName="previewInbox")
        self.preview_button.clicked.connect(self.preview_selected)
        self.table.doubleClicked.connect(lambda *_: self.preview_selected())
        self.dismiss_button = QPushButton("Remove from list", objectName="dismissFailed")
        self.dismiss_button.setToolTip("Only failed files; the file itself stays in the folder.")
        self.dismiss_button.clicked.connect(self.dismiss_selected)
        close = QPushButton("Close", objectName="closeInbox")
        close.clicked.connect(self.accept)
        self.status = QLabel("", objectName="inboxStatus")
        self.status.setWordWrap(True)
        bar = QHBoxLayout()
        bar.addWidget(self.dismiss_button)
        bar.addWidget(self.preview_button)
        bar.addStretch(1)
        bar.addWidget(self.attach_button)
        bar.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(
            "Files from the acquisition folder that no patient was chosen for, or whose "
            "DICOM header names someone else. Check them, then attach them."))
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status)
        layout.addLayout(bar)
        self.resize(900, 460)
        self.load()

    def load(self) -> None:
        ReadOp(self.repo.inbox).success(self.model.set_rows).run(self.ctx.ops)

    def selected(self) -> list[InboxRow]:
        rows = {i.row() for i in self.table.selectionModel().selectedRows()}
        return [self.model.data(self.model.index(r, 0), RowRole) for r in sorted(rows)]

    def preview_selected(self) -> None:
        """Look before attaching: the stored copies of the picked files in the viewer
        (a failed file has none; its original is still in the folder)."""
        from app.ui.images.image_viewer import ImageViewer

        files = self.repo.files
        rows = [
            ImageRow("", "", None, r.kind, r.sha256, r.filename, r.size, None, None,
                     files.path_of(r.sha256), files.has(r.sha256))
            for r in self.selected() if r.sha256
        ]
        if not rows:
            self.status.setText("Pick a waiting or quarantined file to preview.")
            return
        self.viewer = ImageViewer(self.ctx, rows, 0, self)
        self.viewer.open()

    def attach_selected(self) -> None:
        picked = [r for r in self.selected() if r.status != "failed"]
        if not picked:
            self.status.setText("Pick waiting or quarantined files to attach.")
            return
        if self.patient_id is None:
            self.pick_patient(lambda pid, name: self.attach(picked, pid, name))
            return
        self.attach(picked, self.patient_id, self.patient_name)

    def pick_patient(self, then: Callable[[str, str], None]) -> None:
        """Opened from the main window: find the patient the files belong to."""
        text, ok = QInputDialog.getText(self, "Attach to a patient",
                                        "Patient's name, number or phone:")
        if not ok or not text.strip():
            return
        ctx = self.ctx

        def found(rows: list[PatientRow]) -> None:
            if not rows:
                self.status.setText(f"No patient matches “{text.strip()}”.")
                return
            labels = [" · ".join(p for p in (f"{r.first_name} {r.last_name}".strip(),
                                             f"born {r.birth_date}" if r.birth_date else "",
                                             f"no. {r.num}") if p) for r in rows]
            label, chosen = QInputDialog.getItem(self, "Attach to a patient",
                                                 "Which patient?", labels, 0, False)
            if chosen and label in labels:
                row = rows[labels.index(label)]
                then(row.id, f"{row.first_name} {row.last_name}".strip())

        ReadOp(lambda: ctx.store.patients.search(ctx.viewer, PatientFilter(query=text.strip()),
                                                 limit=50)).success(found).run(ctx.ops)

    def attach(self, picked: list[InboxRow], pid: str, who: str) -> None:
        """Check the picked files against the chosen patient first; a person sees
        every doubt before anything is filed."""
        ctx = self.ctx
        ReadOp(lambda: self.repo.doubts(ctx.viewer, [r.id for r in picked], pid)).success(
            lambda doubts: self._confirmed(picked, pid, who, doubts)).failure(
            lambda exc: self.status.setText(str(exc))).run(ctx.ops)

    def _confirmed(self, picked: list[InboxRow], pid: str, who: str,
                   doubts: list[tuple[str, str]]) -> None:
        if doubts:
            reasons = "\n\n".join(f"{name}: {reason}" for name, reason in doubts[:5])
            more = f"\n\n…and {len(doubts) - 5} more." if len(doubts) > 5 else ""
            answer = QMessageBox.question(
                self, "Attach files that may not be this patient's",
                f"{reasons}{more}\n\nAttach them to {who or 'this patient'} all the same?")
            if answer != QMessageBox.StandardButton.Yes:
                return
        ctx = self.ctx
        name = f"Images {dt.date.today().isoformat()}"

        def done(report: AddReport) -> None:
            self.status.setText(f"Attached {counted(len(report.added), 'image')} to {who}.")
            self.load()

        WriteOp(lambda: self.repo.attach(ctx.viewer, [r.id for r in picked], pid,
                                         new_record=name),
                {"images", "visits", "acquisition"}).success(done).failure(
            lambda exc: self.status.setText(str(exc))).run(ctx.ops)

    def dismiss_selected(self) -> None:
        failed = [r for r in self.selected() if r.status == "failed"]

        def work() -> None:
            for r in failed:
                self.repo.dismiss(r.id)

        WriteOp(work, {"acquisition"}).success(lambda _: self.load()).run(self.ctx.ops)
