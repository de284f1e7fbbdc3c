"""The conflict inbox: both values, when and on which PC; keep either, or dismiss.

It shows this PC's copy of the cloud's list (app.store.sync.conflicts_repo), the same
on every PC of the practice; a decision taken here takes the conflict off every PC's
list once it has synced."""

from __future__ import annotations

import json
from typing import Any

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

from app.core.patient_rules import LABELS
from app.store.sync.conflicts_repo import ConflictRow
from app.store.sync.unapplied_repo import UnappliedRow
from app.ui.shell.context import AppContext
from app.ui.shell.ops import ReadOp, WriteOp
from app.ui.widgets.table_model import Column, RowRole, RowTableModel


def _show(value: Any) -> str:
    if value is None:
        return "(empty)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value if isinstance(value, str) else json.dumps(value)


def _what(row: ConflictRow) -> str:
    label = LABELS.get(row.field, row.field.replace("_", " ").capitalize())
    return label if row.entity == "patient" else f"{row.entity.capitalize()}: {label}"


COLUMNS: list[Column[ConflictRow]] = [
    Column("Patient", lambda r: r.patient_name),
    Column("Field", _what),
    Column("Value now", lambda r: _show(r.kept_value)),
    Column("Changed", lambda r: f"{r.kept_at} on PC {r.kept_node[:6]}"),
    Column("Other value", lambda r: _show(r.other_value)),
    Column("Changed", lambda r: f"{r.other_at} on PC {r.other_node[:6]}"),
]


_KINDS = {"patient": "Patient", "visit": "Visit", "appointment": "Appointment",
          "agreement": "Treatment agreement", "payment": "Payment", "note": "Note"}
UNAPPLIED_COLUMNS: list[Column[UnappliedRow]] = [
    Column("Record", lambda r: _KINDS.get(r.entity, r.entity.capitalize())),
    Column("Why it could not be applied", lambda r: r.reason),
    Column("Received", lambda r: r.found_at[:16].replace("T", " ")),
]


class ConflictsDialog(QDialog):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.repo = ctx.store.conflicts
        self.setWindowTitle("Changes to review")
        self.resize(900, 420)
        intro = QLabel(
            "The same detail was changed on two computers at about the same time. The value "
            "now in use is the later one; choose which value is right. Every computer shows "
            "this same list, and your choice takes it off all of them."
        )
        intro.setWordWrap(True)
        self.model = RowTableModel(COLUMNS, self)
        self.table = QTableView(objectName="conflictTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.empty = QLabel("Nothing to review: no conflicting changes.", objectName="noConflicts")
        self.keep = QPushButton("Keep the value now in use", objectName="keepValue")
        self.other = QPushButton("Use the other value", objectName="useOther")
        self.dismiss = QPushButton("Dismiss", objectName="dismissConflict")
        self.dismiss.setToolTip("Take it off the list and leave the value as it is")
        self.keep.clicked.connect(lambda: self.resolve(False))
        self.other.clicked.connect(lambda: self.resolve(True))
        self.dismiss.clicked.connect(self.dismiss_selected)
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        buttons = QHBoxLayout()
        buttons.addWidget(self.keep)
        buttons.addWidget(self.other)
        buttons.addWidget(self.dismiss)
        buttons.addStretch(1)
        buttons.addWidget(close)
        # Changes another computer sent that this one could not apply (text that is not
        # valid, a value of the wrong kind): kept aside so that the rest still syncs.
        self.unapplied_intro = QLabel(
            "Changes from other computers that could not be applied here. Everything else "
            "was applied; ask whoever made these changes to enter them again.",
            objectName="unappliedIntro")
        self.unapplied_intro.setWordWrap(True)
        self.unapplied_model = RowTableModel(UNAPPLIED_COLUMNS, self)
        self.unapplied = QTableView(objectName="unappliedTable")
        self.unapplied.setModel(self.unapplied_model)
        self.unapplied.verticalHeader().hide()
        self.unapplied.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        # Nothing to review: the message takes the table's room, under the intro.
        layout.addWidget(self.empty, 1, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.unapplied_intro)
        layout.addWidget(self.unapplied)
        for w in (self.unapplied_intro, self.unapplied):
            w.setVisible(False)
        self.reload()

    def reload(self) -> None:
        ctx = self.ctx
        ReadOp(lambda: self.repo.open(ctx.viewer)).success(self._loaded).run(ctx.ops)
        aside = ctx.store.unapplied
        ReadOp(aside.list).success(self._unapplied_loaded).run(ctx.ops)

    def _unapplied_loaded(self, rows: list[UnappliedRow]) -> None:
        self.unapplied_model.set_rows(rows)
        for w in (self.unapplied_intro, self.unapplied):
            w.setVisible(bool(rows))

    def _loaded(self, rows: list[ConflictRow]) -> None:
        self.model.set_rows(rows)
        self.empty.setVisible(not rows)
        self.table.setVisible(bool(rows))
        for b in (self.keep, self.other, self.dismiss):
            b.setEnabled(bool(rows))
        if rows:
            self.table.selectRow(0)

    def selected(self) -> ConflictRow | None:
        index = self.table.currentIndex()
        return self.model.data(index, RowRole) if index.isValid() else None

    def resolve(self, use_other: bool) -> None:
        row = self.selected()
        if row is None:
            return
        ctx = self.ctx
        WriteOp(
            lambda: self.repo.resolve(ctx.viewer, row.key, use_other),
            {"patients", "visits", "agreements", "appointments", "conflicts"},
        ).success(lambda _: self.reload()).run(ctx.ops)

    def on_changed(self, flags: set[str]) -> None:
        # A sync brought conflicts or decisions made elsewhere, or changed a value the
        # list shows as the one kept now.
        if flags & {"external", "conflicts", "patients", "visits", "agreements",
                    "appointments", "chairs", "users"}:
            self.reload()

    def dismiss_selected(self) -> None:
        row = self.selected()
        if row is None:
            return
        ctx = self.ctx
        WriteOp(lambda: self.repo.dismiss(ctx.viewer, row.key), {"conflicts"}).success(
            lambda _: self.reload()
        ).run(ctx.ops)
