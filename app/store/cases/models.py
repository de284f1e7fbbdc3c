"""Tables of scan tickets and lab cases."""

from __future__ import annotations

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.store.base import Base, Synced


class ScanTicket(Synced, Base):
    """A scan to be taken of a patient (intraoral or face), open until it is scanned or
    cancelled; synced so that the PC at the scanner sees what the front desk asked."""

    __tablename__ = "scan_tickets"
    __entity__ = "scan_ticket"

    # No foreign key: a ticket pulled from another PC may arrive before its patient.
    patient_id: Mapped[str] = mapped_column(String(36), nullable=False, index=True)
    scan_type: Mapped[str] = mapped_column(String(20), nullable=False)
    case_type: Mapped[str | None] = mapped_column(String(500))
    visit_type: Mapped[str | None] = mapped_column(String(500))
    doctor_id: Mapped[str | None] = mapped_column(String(36))
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="open")
    created_at: Mapped[str | None] = mapped_column(String(32))
    created_by: Mapped[str | None] = mapped_column(String(36))
    status_at: Mapped[str | None] = mapped_column(String(32))
    status_by: Mapped[str | None] = mapped_column(String(36))
    image_ids: Mapped[str | None] = mapped_column(Text)


class LabCase(Synced, Base):
    """An order to a connected lab, with images of the patient attached; a draft until
    sent, then moved on by the lab (received, in progress, shipped)."""

    __tablename__ = "lab_cases"
    __entity__ = "lab_case"

    patient_id: Mapped[str] = mapped_column(String(36), nullable=False, index=True)
    lab_code: Mapped[str | None] = mapped_column(String(500))
    lab_name: Mapped[str | None] = mapped_column(String(500))
    case_type: Mapped[str | None] = mapped_column(String(500))
    due_date: Mapped[str | None] = mapped_column(String(10))
    instructions: Mapped[str | None] = mapped_column(Text)
    image_ids: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="draft")
    status_note: Mapped[str | None] = mapped_column(Text)
    status_at: Mapped[str | None] = mapped_column(String(32))
    status_by: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[str | None] = mapped_column(String(32))
    created_by: Mapped[str | None] = mapped_column(String(36))
    sent_at: Mapped[str | None] = mapped_column(String(32))
