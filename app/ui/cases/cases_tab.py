"""A patient's lab cases on his page: create one for a connected lab, send it, and
follow the status the lab sets."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QPushButton, QWidget

from app.platform.secrets import SecretStore
from app.store.cases.cases_repo import CaseRow
from app.ui.cases.case_dialog import CaseDialog, LabSource
from app.ui.cases.rows_tab import PatientRowsTab
from app.ui.shell.context import AppContext
from app.ui.shell.ops import WriteOp
from app.ui.widgets import formatting
from app.ui.widgets.table_model import Column


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
    Column("Status", lambda c: c.status_words),
    Column("Since", lambda c: formatting.local_time(c.status_at) if c.status_at else ""),
    Column("Lab's note", lambda c: (c.status_note or "").replace("\n", " ")),
    Column("Instructions", lambda c: (c.instructions or "").replace("\n", " ")),
]


class CasesTab(PatientRowsTab[CaseRow]):
    flags = frozenset({"cases"})

    def __init__(self, ctx: AppContext, secrets: SecretStore | None = None,
                 parent: QWidget | None = None) -> None:
        self.labs = connected_labs(ctx, secrets)
        self.dialog: CaseDialog | None = None
        self.new = QPushButton("Create case…", objectName="newCase")
        self.edit = QPushButton("Edit…", objectName="editCase")
        self.send = QPushButton("Send to the lab", objectName="sendCase")
        super().__init__(ctx, COLUMNS, "caseTable", "No cases yet.",
                         (self.new, self.edit, self.send), parent)
        self.new.clicked.connect(lambda: self.create_case())
        self.edit.clicked.connect(self.edit_case)
        self.table.doubleClicked.connect(self.edit_case)
        self.send.clicked.connect(self.send_case)
        self._selected()

    def read(self, patient_id: str) -> list[CaseRow]:
        return self.ctx.store.cases.for_patient(self.ctx.viewer, patient_id)

    def _selected(self, *_: Any) -> None:
        case = self.current()
        draft = case is not None and case.status == "draft"
        self.edit.setEnabled(draft)
        self.send.setEnabled(draft and bool(case and case.lab_code))
        self.send.setToolTip("" if not draft or (case and case.lab_code) else
                             "Choose the lab first: Edit the case.")

    def create_case(self, image_ids: list[str] | None = None) -> None:
        """`image_ids`: images picked on the Images tab, attached to begin with."""
        if self.patient_id:
            self.dialog = CaseDialog(self.ctx, self.patient_id, self.patient_name,
                                     self.labs, self, attached=image_ids or [])
            self.dialog.open()

    def edit_case(self, *_: Any) -> None:
        case = self.current()
        if self.patient_id and case is not None and case.status == "draft":
            self.dialog = CaseDialog(self.ctx, self.patient_id, self.patient_name,
                                     self.labs, self, case=case)
            self.dialog.open()

    def send_case(self) -> None:
        case = self.current()
        if case is None:
            return
        ctx = self.ctx
        WriteOp(lambda: ctx.store.cases.send(ctx.viewer, case.id), {"cases"},
                name="sending the case").run(ctx.ops)
