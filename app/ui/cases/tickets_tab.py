"""A patient's scan tickets on his page: create one, mark it scanned or cancel it."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QPushButton, QWidget

from app.store.cases.tickets_repo import SCAN_LABELS, STATUS_LABELS, TicketRow
from app.ui.cases.rows_tab import PatientRowsTab
from app.ui.cases.ticket_dialog import TicketDialog
from app.ui.shell.context import AppContext
from app.ui.shell.ops import WriteOp
from app.ui.widgets import formatting
from app.ui.widgets.table_model import Column


class TicketsTab(PatientRowsTab[TicketRow]):
    flags = frozenset({"tickets"})

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
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
        self.new = QPushButton("Create scan ticket…", objectName="newTicket")
        self.scanned = QPushButton("Mark scanned", objectName="markScanned")
        self.cancel = QPushButton("Cancel ticket", objectName="cancelTicket")
        super().__init__(ctx, columns, "ticketTable", "No scan tickets yet.",
                         (self.new, self.scanned, self.cancel), parent)
        self.new.clicked.connect(self.create_ticket)
        self.scanned.clicked.connect(lambda: self._set_status("scanned"))
        self.cancel.clicked.connect(lambda: self._set_status("cancelled"))
        self._selected()

    def read(self, patient_id: str) -> tuple[list[TicketRow], dict[str, str]]:
        ctx = self.ctx
        users = {u.id: u.display_name for u in ctx.store.users.list()}
        return ctx.store.tickets.for_patient(ctx.viewer, patient_id), users

    def rows_of(self, result: Any) -> list[TicketRow]:
        self.doctors = result[1]
        return list(result[0])

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
