"""The patient page's Images tab: every image grouped by record, newest first.

Add images by the file dialog or by dropping files anywhere on the patient page (into
the record chosen in "Add to", or a new record of today); open one in the viewer;
start an acquisition so the acquisition folder files for this patient; pick several
and start a lab case with them attached.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject, QSize, Qt, Signal
from PySide6.QtGui import QAction, QDropEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListView,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.text import counted
from app.imaging.thumbnails import ThumbnailCache
from app.store.dto import VisitRow
from app.store.images.acquisition_repo import ActiveAcquisition
from app.store.images.image_filing import AddReport, Staged
from app.store.images.image_rows import ImageRow, RecordImages
from app.ui.images.images_model import THUMB, ImageRole, ImagesModel
from app.ui.shell.context import AppContext
from app.ui.shell.ops import ReadOp, WriteOp
from app.ui.widgets import plain_text
from app.ui.widgets.layouts import empty_layout

NEW_RECORD = "__new__"


def expand(paths: list[Path]) -> list[Path]:
    """Files as given, and the files inside given folders — without what is not the
    patient's images: hidden and temporary files, and the DICOMDIR index of an export
    (each would otherwise be one more tile with nothing to show)."""
    from app.imaging.acquisition import temporary_reason

    def wanted(name: str) -> bool:
        return (not name.startswith(".") and temporary_reason(name) is None
                and name.upper() != "DICOMDIR")

    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            for root, dirs, names in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                out.extend(Path(root) / n for n in sorted(names) if wanted(n))
        else:
            out.append(p)
    return out


def pictures_folder() -> str:
    """Where "Add images…" opens: the last folder used on this PC, else Pictures."""
    from PySide6.QtCore import QStandardPaths

    from app.ui.shell.main_window import window_settings

    last = str(window_settings().value("images/last_folder", "") or "")
    if last and Path(last).is_dir():
        return last
    pictures = QStandardPaths.writableLocation(
        QStandardPaths.StandardLocation.PicturesLocation)
    return pictures if pictures and Path(pictures).is_dir() else str(Path.home())


def remember_folder(path: Path) -> None:
    from app.ui.shell.main_window import window_settings

    settings = window_settings()
    settings.setValue("images/last_folder", str(path))
    settings.sync()


class DropTarget(QObject):
    """Lets a whole page take dropped files (installed as an event filter)."""

    def __init__(self, on_paths: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.on_paths = on_paths

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if not isinstance(event, QDropEvent):  # as drag-enter and drag-move events are
            return False
        kind = event.type()
        if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove):
            if event.mimeData().hasUrls():
                event.acceptProposedAction()
                return True
        elif kind == QEvent.Type.Drop:
            urls = event.mimeData().urls()
            paths = [Path(u.toLocalFile()) for u in urls if u.isLocalFile()]
            if paths:
                event.acceptProposedAction()
                self.on_paths(paths)
                return True
        return False


class ImagesTab(QWidget):
    added = Signal(object)  # AddReport, after files were filed
    acquisitionStarted = Signal(str)  # patient id
    caseRequested = Signal(list)  # ids of the images picked for a lab case

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:  # noqa: PLR0915
        super().__init__(parent)
        self.ctx = ctx
        self.patient_id: str | None = None
        self.patient_name = ""
        self.images = ctx.store.images
        self.acquisition = ctx.store.acquisition
        self.model = ImagesModel(ctx.ops, ThumbnailCache(self.images.files), self)
        self.active: ActiveAcquisition | None = None
        self.viewer: Any = None
        self.prefer_target: str | None = None  # the record to show in "Add to" next

        self.target = QComboBox(objectName="imagesTarget")
        add = QPushButton("Add images…", objectName="addImages")
        add.clicked.connect(self.ask_files)
        self.acquire = QPushButton("Acquire images", objectName="acquireImages")
        self.acquire.clicked.connect(self.toggle_acquisition)
        self.case = QPushButton("Create case", objectName="createCase")
        self.case.clicked.connect(self.ask_case)
        self.inbox_button = QPushButton("Unassigned images…", objectName="unassignedImages")
        self.inbox_button.clicked.connect(self.show_inbox)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Add to:"))
        bar.addWidget(self.target)
        bar.addWidget(add)
        bar.addWidget(self.acquire)
        bar.addStretch(1)
        bar.addWidget(self.inbox_button)
        bar.addWidget(self.case)
        self.labels = QHBoxLayout()
        self.labels.addStretch(1)
        self.status = QLabel("", objectName="imagesStatus")
        self.status.setWordWrap(True)
        self.view = QListView(objectName="imagesView")
        self.view.setModel(self.model)
        self.view.setViewMode(QListView.ViewMode.IconMode)
        self.view.setIconSize(QSize(THUMB, THUMB))
        self.view.setGridSize(QSize(THUMB + 40, THUMB + 56))
        self.view.setResizeMode(QListView.ResizeMode.Adjust)
        self.view.setMovement(QListView.Movement.Static)
        self.view.setWordWrap(True)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.doubleClicked.connect(lambda idx: self.open_viewer(idx.row()))
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        kind = QAction("Change kind…", self.view)
        kind.setObjectName("changeKind")
        kind.triggered.connect(self.ask_kind)
        self.view.addAction(kind)
        remove = QAction("Remove from record…", self.view)
        remove.triggered.connect(self.ask_remove)
        self.view.addAction(remove)
        self.view.selectionModel().selectionChanged.connect(self._selection_changed)
        self.empty = QLabel("No images yet. Add some, or drop files here.",
                            objectName="imagesEmpty")
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addLayout(self.labels)
        layout.addWidget(self.status)
        layout.addWidget(self.empty)
        layout.addWidget(self.view, 1)
        self.drop_target = DropTarget(self.add_paths, self)
        self._selection_changed()

    # Loading --------------------------------------------------------------------------
    def set_patient(self, patient_id: str, name: str) -> None:
        if patient_id != self.patient_id:
            self.status.clear()
        self.patient_id, self.patient_name = patient_id, name
        self.load()

    def load(self) -> None:
        if not self.patient_id:
            return
        ctx, pid = self.ctx, self.patient_id

        def read() -> tuple[list[RecordImages], list[VisitRow], ActiveAcquisition | None, int]:
            counts = self.acquisition.counts()
            waiting = counts["unassigned"] + counts["quarantined"]
            return (self.images.by_record(ctx.viewer, pid),
                    ctx.store.records.visits(ctx.viewer, pid), self.acquisition.active(),
                    waiting)

        ReadOp(read).success(self._show).run(ctx.ops)

    def _show(self, result: tuple[list[RecordImages], list[VisitRow],
                                  ActiveAcquisition | None, int]) -> None:
        groups, visits, active, waiting = result
        self.model.set_groups(groups)
        self.empty.setVisible(not groups)
        chosen = self.prefer_target or self.target.currentData()
        self.prefer_target = None
        self.target.clear()
        self.target.addItem("A new record (today)", NEW_RECORD)
        for v in visits:
            self.target.addItem(" · ".join(p for p in (v.visit_date, v.name) if p), v.id)
        found = self.target.findData(chosen)
        self.target.setCurrentIndex(max(found, 0))
        empty_layout(self.labels, keep=1)
        for i, (group, first) in enumerate(self.model.groups):
            jump = QPushButton(f"{group.label} ({len(group.images)})",
                               objectName=f"recordLabel{i}")
            jump.setFlat(True)
            jump.clicked.connect(lambda _=False, row=first: self.jump_to(row))
            self.labels.insertWidget(i, jump)
        self.active = active
        mine = active is not None and active.patient_id == self.patient_id
        self.acquire.setText("Stop acquiring" if mine else "Acquire images")
        if active is not None and not mine:
            self.acquire.setToolTip(
                plain_text.tooltip(f"Acquiring for {active.display_name} on this computer."))
        self.inbox_button.setText(f"Unassigned images ({waiting})…")

    def jump_to(self, row: int) -> None:
        idx = self.model.index(row)
        self.view.scrollTo(idx, QAbstractItemView.ScrollHint.PositionAtTop)
        self.view.setCurrentIndex(idx)

    def on_changed(self, flags: set[str]) -> None:
        if flags & {"images", "visits", "external", "acquisition"}:
            self.load()

    # Adding ---------------------------------------------------------------------------
    def ask_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(
            self, "Add images", pictures_folder(),
            "Images and scans (*.jpg *.jpeg *.png *.tif *.tiff *.dcm *.stl *.ply *.obj);;"
            "All files (*)",
        )
        if paths:
            remember_folder(Path(paths[0]).parent)
            self.add_paths([Path(p) for p in paths])

    def _target(self) -> tuple[str | None, str | None]:
        data = self.target.currentData()
        if data in (None, NEW_RECORD):
            return None, f"Images {dt.date.today().isoformat()}"
        return str(data), None

    def add_paths(self, paths: list[Path]) -> None:
        """File these files for the patient, into the record chosen in "Add to"."""
        if not self.patient_id or not paths:
            return
        ctx, pid = self.ctx, self.patient_id
        visit_id, new_record = self._target()
        self.status.setText("Adding…")

        def stage(op: Any) -> Staged:
            # Copying runs on a reader thread: a large file never holds up the single
            # database writer; only the filing below is a write.
            # A dropped folder (a CBCT export, a camera card) brings every file in it.
            return self.images.stage(ctx.viewer, pid, expand(paths), progress=op.report)

        def file(staged: Staged) -> None:
            WriteOp(lambda: self.images.file(ctx.viewer, pid, staged, visit_id=visit_id,
                                             new_record=new_record),
                    {"images", "visits"}).success(done).failure(failed).run(ctx.ops)

        def failed(exc: BaseException) -> None:
            self.status.setText(f"The images were not added: {exc}")

        def done(report: AddReport) -> None:
            lines = [f"Added {counted(len(report.added), 'image')}."]
            lines += [f"{name}: {reason}" for name, reason in report.failed]
            lines += [f"Check {name}: {reason}" for name, reason in report.warnings]
            if report.already:
                lines.append("Already in this record: " + ", ".join(report.already))
            self.status.setText("\n".join(lines))
            # Files added next go into the same record, not one more new one.
            self.prefer_target = report.visit_id
            self.added.emit(report)

        def progress(n: int, total: int, label: str) -> None:
            self.status.setText(f"Adding {n + 1 if n < total else n} of {total}: {label}")

        ReadOp(stage).with_progress(progress).success(file).failure(failed).run(ctx.ops)

    # Viewer, acquisition, cases -----------------------------------------------------------
    def open_viewer(self, row: int) -> None:
        from app.ui.images.image_viewer import ImageViewer

        self.viewer = ImageViewer(self.ctx, self.model.rows, row, self)
        self.viewer.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.viewer.destroyed.connect(lambda *_: setattr(self, "viewer", None))
        self.viewer.open()

    def toggle_acquisition(self) -> None:
        if not self.patient_id:
            return
        ctx, pid = self.ctx, self.patient_id
        if self.active is not None and self.active.patient_id == pid:
            op: WriteOp[Any] = WriteOp(self.acquisition.stop, {"acquisition"})
            op.success(lambda _: self.status.setText("Acquisition stopped.")).run(ctx.ops)
            return
        visit_id, new_record = self._target()
        def started(a: Any) -> None:
            self.status.setText(
                f"Acquiring for {a.display_name}: files in the acquisition folder go to "
                "this patient's record, even with this window closed.")
            self.acquisitionStarted.emit(pid)

        WriteOp(lambda: self.acquisition.start(ctx.viewer, pid, visit_id, new_record),
                {"acquisition", "visits"}).success(started).failure(
            lambda exc: self.status.setText(str(exc))).run(ctx.ops)

    def ask_kind(self) -> None:
        from app.ui.images.image_viewer import KIND_LABELS

        picked = self.selected()
        if not picked:
            return
        labels = list(KIND_LABELS.values())
        now = KIND_LABELS.get(picked[0].kind, labels[0])
        label, ok = QInputDialog.getItem(
            self, "Change kind", "What is the selected image?" if len(picked) == 1
            else f"What are the {len(picked)} selected images?", labels,
            labels.index(now) if now in labels else 0, False)
        if ok:
            self.set_kind(picked, next(k for k, v in KIND_LABELS.items() if v == label))

    def set_kind(self, rows: list[ImageRow], kind: str) -> None:
        ctx = self.ctx

        def work() -> None:
            for r in rows:
                self.images.set_kind(ctx.viewer, r.id, kind)

        WriteOp(work, {"images"}).failure(lambda exc: self.status.setText(str(exc))).run(
            ctx.ops)

    def ask_remove(self) -> None:
        picked = self.selected()
        if not picked:
            return
        answer = QMessageBox.question(
            self, "Remove images",
            f"Remove {counted(len(picked), 'image')} from this patient's records? They are kept "
            "on the server and can be restored by support.")
        if answer == QMessageBox.StandardButton.Yes:
            self.remove(picked)

    def remove(self, rows: list[ImageRow]) -> None:
        ctx = self.ctx

        def work() -> None:
            for r in rows:
                self.images.delete(ctx.viewer, r.id)

        WriteOp(work, {"images"}).failure(lambda exc: self.status.setText(str(exc))).run(
            ctx.ops)

    def selected(self) -> list[ImageRow]:
        return [self.model.data(i, ImageRole) for i in
                sorted(self.view.selectionModel().selectedIndexes(), key=lambda i: i.row())]

    def _selection_changed(self, *_: Any) -> None:
        n = len(self.view.selectionModel().selectedIndexes())
        self.case.setEnabled(n > 0)
        self.case.setText(f"Create case ({n})" if n else "Create case")

    def ask_case(self) -> None:
        picked = self.selected()
        if picked and self.patient_id:
            self.caseRequested.emit([r.id for r in picked])

    def show_inbox(self) -> None:
        from app.ui.images.unassigned_dialog import UnassignedDialog

        dialog = UnassignedDialog(self.ctx, self.patient_id, self.patient_name, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
