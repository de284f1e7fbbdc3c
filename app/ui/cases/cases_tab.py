"""A patient's lab cases on his page: create one for a connected lab, send it, and
follow the status the lab sets."""

from __future__ import annotations

from typing import Any

import shiboken6
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.platform.secrets import SecretStore
from app.store.cases.cases_repo import CASE_STATUS_LABELS, CaseRow
from app.ui.cases.case_dialog import CaseDialog, LabSource
from app.ui.shell.context import AppContext
from app.ui.shell.ops import ReadOp, WriteOp
from app.ui.widgets import formatting
from app.ui.widgets.table_model import Column, RowTableModel, table_view


def connected_labs(ctx: AppContext, secrets: SecretStore | None = None) -> LabSource:
    def ask() -> list[tuple[str, str]]:
        from sync_agent.institution_service import Institutions

        view = Institutions(ctx.store.db, secrets or SecretStore(), ctx.viewer.user_id,
                            str(ctx.store.settings.get("practice_name") or "")).show()
        return [(r.lab_code, r.lab_name) for r in view.requests if r.state == "approved"]

    return ask


COLUMNS: list[Column[CaseRow]] = [
    Column("Lab", lambda c: c.lab_name or c.lab_code or ""),
    Column("Case type", lambda c: c.case_type or ""),
    Column("Due", lambda c: c.due_date or ""),
    Column("Images", lambda c: str(len(c.image_ids))),
    Column("Status", lambda c: CASE_STATUS_LABELS.get(c.status, c.status)),
    Column("Since", lambda c: formatting.local_time(c.status_at) if c.status_at else ""),
    Column("Lab's note", lambda c: (c.status_note or "").replace("\n", " ")),
    Column("Instructions", lambda c: (c.instructions or "").replace("\n", " ")),
]


class CasesTab(QWidget):
    def __init__(self, ctx: AppContext, secrets: SecretStore | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.labs = connected_labs(ctx, secrets)
        self.patient_id: str | None = None
        self.patient_name = ""
        self.dialog: CaseDialog | None = None
        self.model = RowTableModel(COLUMNS, self)
        self.table = table_view(self.model, "caseTable")
        self.table.selectionModel().selectionChanged.connect(self._selected)
        self.new = QPushButton("Create case…", objectName="newCase")
        self.new.clicked.connect(lambda: self.create_case())
        self.send = QPushButton("Send to the lab", objectName="sendCase")
        self.send.clicked.connect(self.send_case)
        self.empty = QLabel("No cases yet.", objectName="casesEmpty")
        buttons = QHBoxLayout()
        buttons.addWidget(self.new)
        buttons.addWidget(self.send)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(self.empty)
        layout.addWidget(self.table, 1)
        self._selected()

    def set_patient(self, patient_id: str, name: str) -> None:
        self.patient_id, self.patient_name = patient_id, name
        self.load()

    def load(self) -> None:
        if not self.patient_id:
            return
        ctx, pid = self.ctx, self.patient_id

        def show(rows: list[CaseRow]) -> None:
            if not shiboken6.isValid(self) or pid != self.patient_id:
                return
            self.model.set_rows(rows)
            self.empty.setVisible(not rows)
            self._selected()

        ReadOp(lambda: ctx.store.cases.for_patient(ctx.viewer, pid)).success(show).run(ctx.ops)

    def on_changed(self, flags: set[str]) -> None:
        if flags & {"cases", "patients", "external"}:
            self.load()

    def current(self) -> CaseRow | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.row_at(rows[0].row()) if rows else None

    def _selected(self, *_: Any) -> None:
        case = self.current()
        self.send.setEnabled(case is not None and case.status == "draft")

    def create_case(self, image_ids: list[str] | None = None) -> None:
        """`image_ids`: images picked on the Images tab, attached to begin with."""
        if self.patient_id:
            self.dialog = CaseDialog(self.ctx, self.patient_id, self.patient_name,
                                     self.labs, self, attached=image_ids or [])
            self.dialog.open()

    def send_case(self) -> None:
        case = self.current()
        if case is None:
            return
        ctx = self.ctx
        WriteOp(lambda: ctx.store.cases.send(ctx.viewer, case.id), {"cases"},
                name="sending the case").run(ctx.ops)
