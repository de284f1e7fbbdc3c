"""What the patient page's Scan tickets and Cases tabs share: a row of buttons over a
table of the patient's rows, read off the UI thread and kept current."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Generic, TypeVar

import shiboken6
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.ui.shell.context import AppContext
from app.ui.shell.ops import ReadOp
from app.ui.widgets.table_model import Column, RowTableModel, table_view

R = TypeVar("R")


class PatientRowsTab(QWidget, Generic[R]):
    flags: frozenset[str] = frozenset()  # the change flags that call for a reload

    def __init__(self, ctx: AppContext, columns: Sequence[Column[R]], name: str,
                 empty: str, buttons: Sequence[QPushButton],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.patient_id: str | None = None
        self.patient_name = ""
        self.reads = 0  # reads asked for; only the latest one's rows are shown
        self.model: RowTableModel[R] = RowTableModel(columns, self)
        self.table = table_view(self.model, name)
        self.table.selectionModel().selectionChanged.connect(self._selected)
        self.empty = QLabel(empty, objectName=f"{name}Empty")
        bar = QHBoxLayout()
        for b in buttons:
            bar.addWidget(b)
        bar.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.empty)
        layout.addWidget(self.table, 1)

    def read(self, patient_id: str) -> Any:
        """Runs on a reader; what `show` receives."""
        raise NotImplementedError

    def rows_of(self, result: Any) -> list[R]:
        return list(result)

    def set_patient(self, patient_id: str, name: str) -> None:
        self.patient_id, self.patient_name = patient_id, name
        self.load()

    def load(self) -> None:
        if not self.patient_id:
            return
        pid = self.patient_id
        self.reads += 1
        mine = self.reads

        def show(result: Any) -> None:
            # Reads run on several threads: an older one may finish after a newer one.
            if not shiboken6.isValid(self) or pid != self.patient_id or mine != self.reads:
                return
            rows = self.rows_of(result)
            self.model.set_rows(rows)
            self.empty.setVisible(not rows)
            self._selected()

        ReadOp(lambda: self.read(pid)).success(show).run(self.ctx.ops)

    def on_changed(self, flags: set[str]) -> None:
        if flags & (self.flags | {"patients", "external"}):
            self.load()

    def current(self) -> R | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.row_at(rows[0].row()) if rows else None

    def _selected(self, *_: Any) -> None:
        """Buttons that depend on the selected row follow it."""
