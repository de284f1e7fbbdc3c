"""Scan tickets: made for a patient, listed on his page, marked scanned or cancelled."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from app.core.wire import ENTITIES, SCAN_TYPES, TICKET_STATUSES, check_value
from app.store import access
from app.store.cases.models import ScanTicket
from app.store.db import Database
from app.store.dto import Viewer
from app.store.errors import NotFoundError
from app.store.models import Patient, RecordImage
from app.store.patients.records_repo import InvalidRecordError
from app.store.sync.outbox import utc_now_text

SCAN_LABELS = {"intraoral": "Intraoral scan", "face": "Face scan"}
SCAN_KINDS = {"intraoral": "intraoral_scan", "face": "face_scan"}  # the images they yield
STATUS_LABELS = {"open": "Open", "scanned": "Scanned", "cancelled": "Cancelled"}


@dataclass(frozen=True, slots=True)
class TicketRow:
    id: str
    patient_id: str
    scan_type: str
    case_type: str | None
    visit_type: str | None
    doctor_id: str | None
    note: str | None
    status: str
    created_at: str | None
    status_at: str | None
    image_ids: tuple[str, ...] = ()


def _row(t: ScanTicket) -> TicketRow:
    ids = tuple(i for i in (t.image_ids or "").split(",") if i)
    return TicketRow(t.id, t.patient_id, t.scan_type, t.case_type, t.visit_type, t.doctor_id,
                     t.note, t.status, t.created_at, t.status_at, ids)


LABELS = {"case_type": "The case type", "visit_type": "The visit type", "note": "The note"}


def _text(name: str, value: Any) -> str | None:
    text = str(value or "").strip()
    if not text:
        return None
    problem = check_value(ENTITIES["scan_ticket"].fields[name], text)
    if problem:
        raise InvalidRecordError(f"{LABELS[name]} {problem}.")
    return text


class TicketsRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, viewer: Viewer, patient_id: str, data: dict[str, Any]) -> TicketRow:
        scan_type = data.get("scan_type")
        if scan_type not in SCAN_TYPES:
            raise InvalidRecordError("Choose an intraoral or a face scan.")
        with self.db.write() as s:
            access.check(viewer, s.get(Patient, patient_id))
            now = utc_now_text()
            ticket = ScanTicket(
                patient_id=patient_id,
                scan_type=scan_type,
                case_type=_text("case_type", data.get("case_type")),
                visit_type=_text("visit_type", data.get("visit_type")),
                doctor_id=data.get("doctor_id") or None,
                note=_text("note", data.get("note")),
                status="open",
                created_at=now,
                created_by=viewer.user_id,
            )
            s.add(ticket)
            s.flush()
            return _row(ticket)

    def for_patient(self, viewer: Viewer, patient_id: str) -> list[TicketRow]:
        """The patient's tickets (and those of patients merged into him), newest first."""
        with self.db.read() as s:
            access.check(viewer, s.get(Patient, patient_id))
            stmt = (
                select(ScanTicket)
                .where(ScanTicket.patient_id.in_(access.family(s, patient_id)),
                       ScanTicket.deleted.is_(False))
                .order_by(ScanTicket.created_at.desc(), ScanTicket.id)
            )
            return [_row(t) for t in s.scalars(stmt)]

    def set_status(self, viewer: Viewer, ticket_id: str, status: str,
                   image_ids: list[str] | None = None) -> TicketRow:
        """`image_ids`: the patient's scans filed for the ticket, linked when it is marked
        scanned."""
        if status not in TICKET_STATUSES:
            raise InvalidRecordError("A ticket is open, scanned or cancelled.")
        with self.db.write() as s:
            ticket = s.get(ScanTicket, ticket_id)
            if ticket is None or ticket.deleted:
                raise NotFoundError("This scan ticket is no longer on file.")
            access.check(viewer, s.get(Patient, ticket.patient_id))
            if image_ids:
                family = set(access.family(s, ticket.patient_id))
                found = {r.id for r in s.scalars(select(RecordImage).where(
                    RecordImage.id.in_(image_ids), RecordImage.deleted.is_(False)))
                    if r.patient_id in family}
                if set(image_ids) - found:
                    raise InvalidRecordError("A linked scan is not one of this patient's.")
                ticket.image_ids = ",".join(dict.fromkeys(image_ids))
            if ticket.status != status:
                ticket.status = status
                ticket.status_at = utc_now_text()
                ticket.status_by = viewer.user_id
                s.flush()
            return _row(ticket)
