"""A patient's scan tickets on his page: create one, mark it scanned or cancel it."""

from __future__ import annotations

from typing import Any

import shiboken6
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.store.cases.tickets_repo import SCAN_LABELS, STATUS_LABELS, TicketRow
from app.ui.cases.ticket_dialog import TicketDialog
from app.ui.shell.context import AppContext
from app.ui.shell.ops import ReadOp, WriteOp
from app.ui.widgets import formatting
from app.ui.widgets.table_model import Column, RowTableModel, table_view


class TicketsTab(QWidget):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.patient_id: str | None = None
        self.patient_name = ""
        self.doctors: dict[str, str] = {}
        self.dialog: TicketDialog | None = None
        columns: list[Column[TicketRow]] = [
            Column("Created", lambda t: formatting.local_time(t.created_at)
                   if t.created_at else ""),
            Column("Scan", lambda t: SCAN_LABELS.get(t.scan_type, t.scan_type)),
            Column("Case type", lambda t: t.case_type or ""),
            Column("Visit type", lambda t: t.visit_type or ""),
            Column("Doctor", lambda t: self.doctors.get(t.doctor_id or "", "")),
            Column("Status", lambda t: STATUS_LABELS.get(t.status, t.status)),
            Column("Note", lambda t: (t.note or "").replace("\n", " ")),
        ]
        self.model = RowTableModel(columns, self)
        self.table = table_view(self.model, "ticketTable")
        self.table.selectionModel().selectionChanged.connect(self._selected)
        self.new = QPushButton("Create scan ticket…", objectName="newTicket")
        self.new.clicked.connect(self.create_ticket)
        self.scanned = QPushButton("Mark scanned", objectName="markScanned")
        self.scanned.clicked.connect(lambda: self._set_status("scanned"))
        self.cancel = QPushButton("Cancel ticket", objectName="cancelTicket")
        self.cancel.clicked.connect(lambda: self._set_status("cancelled"))
        self.empty = QLabel("No scan tickets yet.", objectName="ticketsEmpty")
        buttons = QHBoxLayout()
        buttons.addWidget(self.new)
        buttons.addWidget(self.scanned)
        buttons.addWidget(self.cancel)
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

        def read() -> tuple[list[TicketRow], dict[str, str]]:
            users = {u.id: u.display_name for u in ctx.store.users.list()}
            return ctx.store.tickets.for_patient(ctx.viewer, pid), users

        def show(result: tuple[list[TicketRow], dict[str, str]]) -> None:
            if not shiboken6.isValid(self) or pid != self.patient_id:
                return
            self.doctors = result[1]
            self.model.set_rows(result[0])
            self.empty.setVisible(not result[0])
            self._selected()

        ReadOp(read).success(show).run(ctx.ops)

    def on_changed(self, flags: set[str]) -> None:
        if flags & {"tickets", "patients", "external"}:
            self.load()

    def current(self) -> TicketRow | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.row_at(rows[0].row()) if rows else None

    def _selected(self, *_: Any) -> None:
        ticket = self.current()
        is_open = ticket is not None and ticket.status == "open"
        self.scanned.setEnabled(is_open)
        self.cancel.setEnabled(is_open)

    def create_ticket(self) -> None:
        if self.patient_id:
            self.dialog = TicketDialog(self.ctx, self.patient_id, self.patient_name, self)
            self.dialog.open()

    def _set_status(self, status: str) -> None:
        ticket = self.current()
        if ticket is None:
            return
        ctx = self.ctx
        WriteOp(lambda: ctx.store.tickets.set_status(ctx.viewer, ticket.id, status),
                {"tickets"}, name="changing the scan ticket").run(ctx.ops)
