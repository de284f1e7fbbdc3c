"""The upload list: changes and images waiting, sent or failed, per patient."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QTimer
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionProgressBar,
    QStyleOptionViewItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.agent_requests import RequestKind
from app.store.sync.upload_list_repo import ChangeItem, ImageItem, QueueCounts
from app.ui.shell.context import AppContext
from app.ui.shell.ops import ReadOp, WriteOp
from app.ui.widgets.formatting import local_time
from app.ui.widgets.table_model import Column, RowRole, RowTableModel, table_view

STATUS_FILTERS = [
    ("Everything", None),
    ("Waiting", "waiting"),
    ("Sent", "sent"),
    ("Failed", "failed"),
]


def _size(n: int) -> str:
    amount = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if amount < 1024 or unit == "GB":
            return f"{amount:,.0f} {unit}" if unit == "bytes" else f"{amount:,.1f} {unit}"
        amount /= 1024
    return str(amount)


CHANGE_COLUMNS: list[Column[ChangeItem]] = [
    Column("Patient", lambda c: c.patient_name),
    Column("What", lambda c: c.what),
    Column(
        "Fields",
        lambda c: (
            ", ".join(f.replace("_", " ") for f in c.fields[:6])
            + ("…" if len(c.fields) > 6 else "")
        ),
    ),
    Column("Queued", lambda c: local_time(c.queued_at)),
    Column("Status", lambda c: c.status.capitalize()),
    Column("Why it failed", lambda c: c.error or ""),
]
IMAGE_COLUMNS: list[Column[ImageItem]] = [
    Column("Patient", lambda i: i.patient_name),
    Column("File", lambda i: i.filename),
    Column("Size", lambda i: _size(i.size), align_right=True),
    Column("Progress", lambda i: f"{i.progress}%"),
    Column("Status", lambda i: i.status.capitalize()),
    Column("Why it failed", lambda i: i.error or ""),
]
PROGRESS_COLUMN = 3


class ProgressDelegate(QStyledItemDelegate):
    def paint(
        self, painter: Any, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        item: ImageItem | None = index.data(RowRole)
        if item is None:
            super().paint(painter, option, index)
            return
        bar = QStyleOptionProgressBar()
        bar.rect = option.rect.adjusted(2, 4, -2, -4)
        bar.minimum, bar.maximum, bar.progress = 0, 100, item.progress
        bar.text = f"{item.progress}%"
        bar.textVisible = True
        style = QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter)


class UploadListDialog(QDialog):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.repo = ctx.store.upload_list
        self.setWindowTitle("Upload list")
        self.resize(980, 520)
        self.status = QComboBox(objectName="uploadStatus")
        for label, value in STATUS_FILTERS:
            self.status.addItem(label, value)
        self.status.currentIndexChanged.connect(lambda *_: self.reload())
        self.patient = QLineEdit(placeholderText="Patient name", objectName="uploadPatient")
        self.patient.textChanged.connect(lambda *_: self.reload())
        retry = QPushButton("Send failed items again", objectName="retryFailed")
        retry.clicked.connect(self.retry)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Show"))
        bar.addWidget(self.status)
        bar.addWidget(self.patient, 1)
        bar.addWidget(retry)
        self.changes = RowTableModel(CHANGE_COLUMNS, self)
        self.images = RowTableModel(IMAGE_COLUMNS, self)
        self.tabs = QTabWidget()
        self.tabs.addTab(table_view(self.changes, "changeTable", stretch=True), "Changes")
        image_table = table_view(self.images, "imageTable", stretch=True)
        image_table.setItemDelegateForColumn(PROGRESS_COLUMN, ProgressDelegate(image_table))
        self.tabs.addTab(image_table, "Images")
        self.summary = QLabel("", objectName="uploadSummary")
        note = QLabel("A change leaves this list once the server has confirmed it.")
        note.setStyleSheet("color: #666;")
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.summary)
        layout.addWidget(note)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.reload)
        self.timer.start(2000)
        self.reload()

    def reload(self) -> None:
        ctx, status, query = self.ctx, self.status.currentData(), self.patient.text().strip()
        change_status = None if status == "sent" else status

        def load() -> tuple[list[ChangeItem], list[ImageItem], QueueCounts]:
            changes = (
                []
                if status == "sent"
                else self.repo.changes(ctx.viewer, status=change_status, query=query)
            )
            images = self.repo.images(ctx.viewer, status=status, query=query)
            return changes, images, self.repo.counts(ctx.viewer)

        ReadOp(load).success(self._show).run(ctx.ops)

    def _show(self, result: tuple[list[ChangeItem], list[ImageItem], QueueCounts]) -> None:
        changes, images, counts = result
        self.changes.set_rows(changes)
        self.images.set_rows(images)
        # The totals, not the filtered rows: the same words as the status bar's.
        self.summary.setText(counts.sentence()[0].upper() + counts.sentence()[1:])

    def retry(self) -> None:
        repo = self.ctx.store.agent
        WriteOp(lambda: repo.request(RequestKind.RETRY_FAILED)).success(
            lambda _: self.reload()
        ).run(self.ctx.ops)

    def done(self, result: int) -> None:
        self.timer.stop()
        super().done(result)
