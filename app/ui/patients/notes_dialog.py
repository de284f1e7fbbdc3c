"""Notes sent from the web portal: the notes window, and the reminder that pops up
when a patient with unread notes is opened."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.store.patients.notes_repo import NoteRow
from app.ui.shell.context import AppContext
from app.ui.shell.ops import ReadOp, WriteOp
from app.ui.widgets.table_model import Column, RowTableModel


def _when(n: NoteRow) -> str:
    return n.created_at[:16].replace("T", " ")


COLUMNS: list[Column[NoteRow]] = [
    Column("Sent (UTC)", _when),
    Column("Patient", lambda n: n.patient_name),
    Column("From", lambda n: n.author),
    Column("Note", lambda n: n.body, tooltip=lambda n: n.body),
    Column("Read", lambda n: "yes" if n.read else ""),
]


class NotesDialog(QDialog):
    """Every note from the server, newest first; refreshed when the agent pulls more."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.repo = ctx.store.notes
        self.setWindowTitle("Notes from the server")
        self.setObjectName("notesDialog")
        self.resize(760, 420)
        self.model = RowTableModel(COLUMNS, self)
        self.table = QTableView(objectName="notes")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        close = QPushButton("Close", objectName="closeNotes")
        close.clicked.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(close)
        ctx.ops.changed.connect(self.on_changed)
        self.refresh()

    def refresh(self) -> None:
        viewer = self.ctx.viewer
        ReadOp(lambda: self.repo.all(viewer)).success(self.model.set_rows).run(self.ctx.ops)

    def on_changed(self, flags: set[str]) -> None:
        if flags & {"external", "notes"}:
            self.refresh()


class NoteReminder(QDialog):
    """The unread notes of one patient; "Mark as read" dismisses them on this PC."""

    def __init__(self, ctx: AppContext, notes: list[NoteRow],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.notes = notes
        self.setObjectName("noteReminder")
        self.setWindowTitle(f"Notes on {notes[0].patient_name}" if notes else "Notes")
        layout = QVBoxLayout(self)
        for n in notes:
            label = QLabel(f"{_when(n)} — {n.author or 'portal'}:\n{n.body}", self)
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setWordWrap(True)
            label.setObjectName("reminderNote")
            layout.addWidget(label)
        buttons = QHBoxLayout()
        self.read_button = QPushButton("Mark as read", objectName="markRead")
        self.read_button.clicked.connect(self.mark_read)
        later = QPushButton("Remind me later", objectName="remindLater")
        later.clicked.connect(self.reject)
        buttons.addWidget(self.read_button)
        buttons.addWidget(later)
        layout.addLayout(buttons)

    def mark_read(self) -> None:
        repo = self.ctx.store.notes
        viewer = self.ctx.viewer
        ids = [n.id for n in self.notes]
        WriteOp(lambda: repo.mark_read(viewer, ids), changes={"notes"}).success(
            lambda _r: self.accept()).run(self.ctx.ops)
