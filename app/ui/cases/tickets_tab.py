"""A patient's scan tickets on his page: create one, mark it scanned or cancel it."""

from __future__ import annotations

import dataclasses
from typing import Any

import shiboken6
from PySide6.QtWidgets import QPushButton, QWidget

from app.store.cases.tickets_repo import SCAN_KINDS, SCAN_LABELS, STATUS_LABELS, TicketRow
from app.ui.cases.rows_tab import PatientRowsTab
from app.ui.cases.scan_link_dialog import ScanLinkDialog
from app.ui.cases.ticket_dialog import TicketDialog
from app.ui.shell.context import AppContext
from app.ui.shell.ops import ReadOp, WriteOp
from app.ui.widgets import formatting
from app.ui.widgets.table_model import Column


class TicketsTab(PatientRowsTab[TicketRow]):
    flags = frozenset({"tickets"})

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        self.doctors: dict[str, str] = {}
        self.dialog: TicketDialog | None = None
        self.link_dialog: ScanLinkDialog | None = None
        columns: list[Column[TicketRow]] = [
            Column("Created", lambda t: formatting.local_time(t.created_at)
                   if t.created_at else ""),
            Column("Scan", lambda t: SCAN_LABELS.get(t.scan_type, t.scan_type)),
            Column("Case type", lambda t: t.case_type or ""),
            Column("Visit type", lambda t: t.visit_type or ""),
            Column("Doctor", lambda t: self.doctors.get(t.doctor_id or "", "")),
            Column("Status", lambda t: STATUS_LABELS.get(t.status, t.status)),
            Column("Scans", lambda t: str(len(t.image_ids)) if t.image_ids else ""),
            Column("Note", lambda t: (t.note or "").replace("\n", " ")),
        ]
        self.new = QPushButton("Create scan ticket…", objectName="newTicket")
        self.scanned = QPushButton("Mark scanned…", objectName="markScanned")
        self.cancel = QPushButton("Cancel ticket", objectName="cancelTicket")
        super().__init__(ctx, columns, "ticketTable", "No scan tickets yet.",
                         (self.new, self.scanned, self.cancel), parent)
        self.new.clicked.connect(self.create_ticket)
        self.scanned.clicked.connect(self.mark_scanned)
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

    def mark_scanned(self) -> None:
        """Asks which of the patient's scans of the ticket's kind were filed for it;
        with none filed yet, it is marked scanned at once."""
        ticket = self.current()
        if ticket is None:
            return
        ctx, kind = self.ctx, SCAN_KINDS.get(ticket.scan_type)

        def scans() -> list[Any]:
            groups = ctx.store.images.by_record(ctx.viewer, ticket.patient_id)
            kept = [dataclasses.replace(g, images=tuple(i for i in g.images if i.kind == kind))
                    for g in groups]
            return [g for g in kept if g.images]

        def ask(groups: list[Any]) -> None:
            if not shiboken6.isValid(self):
                return
            if not groups:
                self._set_status("scanned", ticket)
                return
            self.link_dialog = ScanLinkDialog(groups, self)
            self.link_dialog.accepted.connect(
                lambda: self._set_status("scanned", ticket, self.link_dialog.linked()))
            self.link_dialog.open()

        ReadOp(scans).success(ask).run(ctx.ops)

    def _set_status(self, status: str, ticket: TicketRow | None = None,
                    image_ids: list[str] | None = None) -> None:
        ticket = ticket or self.current()
        if ticket is None:
            return
        ctx, tid = self.ctx, ticket.id
        WriteOp(lambda: ctx.store.tickets.set_status(ctx.viewer, tid, status, image_ids),
                {"tickets"}, name="changing the scan ticket").run(ctx.ops)
