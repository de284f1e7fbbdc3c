"""SQLAlchemy models of the local practice database.

ORM objects never leave app.store: repositories hand out frozen dataclasses (dto.py).
Synced tables hold their values in wire form (ISO dates, UTC datetimes, money as decimal
text, app.core.money) plus `stamps`: per field, the HLC of the change that wrote it and
that change's base (see app.core.merge).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, text, true
from sqlalchemy.orm import Mapped, mapped_column

from app.store.base import Base, Synced
from app.store.cases.models import LabCase, ScanTicket

__all__ = ["Base", "LabCase", "ScanTicket", "Synced"]


class Patient(Synced, Base):
    __tablename__ = "patients"
    __entity__ = "patient"

    # Local-only, stable small integer for the search index (never synced).
    num: Mapped[int] = mapped_column(Integer, unique=True, nullable=False)
    first_name: Mapped[str] = mapped_column(String(500), nullable=False)
    last_name: Mapped[str | None] = mapped_column(String(500))
    gender: Mapped[str] = mapped_column(String(10), nullable=False, default="unknown")
    birth_date: Mapped[str | None] = mapped_column(String(10))
    mobile: Mapped[str | None] = mapped_column(String(500))
    landline: Mapped[str | None] = mapped_column(String(500))
    id_number: Mapped[str | None] = mapped_column(String(500))
    insurance_card_number: Mapped[str | None] = mapped_column(String(500))
    email: Mapped[str | None] = mapped_column(String(500))
    address: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    card_number: Mapped[str | None] = mapped_column(String(500))
    responsible_user_id: Mapped[str | None] = mapped_column(String(36))
    case_types: Mapped[str | None] = mapped_column(String(500))
    past_medical_history: Mapped[str | None] = mapped_column(Text)
    diseases: Mapped[str | None] = mapped_column(Text)
    medications: Mapped[str | None] = mapped_column(Text)
    oral_habits: Mapped[str | None] = mapped_column(Text)
    allergies: Mapped[str | None] = mapped_column(Text)
    provisional: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    merged_into: Mapped[str | None] = mapped_column(String(36))
    # Derived, local: display order and search forms (maintained by the store).
    sort_key: Mapped[str] = mapped_column(String(1100), nullable=False, default="")
    phone_digits: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    updated_at: Mapped[str | None] = mapped_column(String(32))

    # The patient list in display order, covering its filters and the columns it shows
    # (see patient_search).
    __table_args__ = (
        Index("ix_patients_list", "sort_key", "num", "deleted", "merged_into", "phone_digits",
              "id", "first_name", "last_name", "gender", "birth_date", "mobile", "email",
              "card_number"),
        Index(
            "ix_patients_owner_list",
            "responsible_user_id",
            "sort_key",
            "num",
            "deleted",
            "merged_into",
            "phone_digits",
        ),
        # An exact card number or phone, shown first in a search (patient_search).
        Index("ix_patients_card", "card_number"),
        Index("ix_patients_mobile", "mobile"),
        Index("ix_patients_landline", "landline"),
    )


class Visit(Synced, Base):
    __tablename__ = "visits"
    __entity__ = "visit"

    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), nullable=False)
    visit_date: Mapped[str] = mapped_column(String(10), nullable=False)
    name: Mapped[str | None] = mapped_column(String(500))
    procedure: Mapped[str | None] = mapped_column(Text)
    amount_paid: Mapped[str | None] = mapped_column(String(32))  # money, decimal text
    notes: Mapped[str | None] = mapped_column(Text)
    next_visit_date: Mapped[str | None] = mapped_column(String(10))
    next_visit_minutes: Mapped[int | None] = mapped_column(Integer)
    doctor_id: Mapped[str | None] = mapped_column(String(36))
    # Posted by the offline-images wizard: the procedure's fee ("0.00" when the charge was
    # not applied) and whether it goes to the insurance.
    charge: Mapped[str | None] = mapped_column(String(32))
    bill_insurance: Mapped[bool | None] = mapped_column(Boolean)

    __table_args__ = (
        Index("ix_visits_patient_date", "patient_id", "visit_date"),
        Index("ix_visits_date", "visit_date"),
        Index("ix_visits_next_visit", "next_visit_date"),
    )


class Appointment(Synced, Base):
    __tablename__ = "appointments"
    __entity__ = "appointment"

    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), nullable=False)
    starts_at: Mapped[str] = mapped_column(String(32), nullable=False)
    duration_minutes: Mapped[int] = mapped_column(Integer, nullable=False, default=30)
    reason: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="booked")
    doctor_id: Mapped[str | None] = mapped_column(String(36))
    # No foreign key: a chair made on another PC may arrive after its appointments.
    chair_id: Mapped[str | None] = mapped_column(String(36))
    note: Mapped[str | None] = mapped_column(Text)
    status_at: Mapped[str | None] = mapped_column(String(32))
    status_by: Mapped[str | None] = mapped_column(String(36))
    cancel_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_appointments_starts", "starts_at"),
        Index("ix_appointments_patient", "patient_id", "starts_at"),
    )


class Chair(Synced, Base):
    """A chair (operatory): one column of the appointment book."""

    __tablename__ = "chairs"
    __entity__ = "chair"

    name: Mapped[str] = mapped_column(String(500), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class ProviderHours(Synced, Base):
    """A provider's working hours, one span per weekday (app.core.hours)."""

    __tablename__ = "provider_hours"
    __entity__ = "provider_hours"

    # No foreign key: hours set on another PC may arrive before their user.
    user_id: Mapped[str | None] = mapped_column(String(36), index=True)
    mon: Mapped[str | None] = mapped_column(String(500))
    tue: Mapped[str | None] = mapped_column(String(500))
    wed: Mapped[str | None] = mapped_column(String(500))
    thu: Mapped[str | None] = mapped_column(String(500))
    fri: Mapped[str | None] = mapped_column(String(500))
    sat: Mapped[str | None] = mapped_column(String(500))
    sun: Mapped[str | None] = mapped_column(String(500))


class Agreement(Synced, Base):
    __tablename__ = "agreements"
    __entity__ = "agreement"

    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), nullable=False, index=True)
    title: Mapped[str | None] = mapped_column(String(500))
    total: Mapped[str] = mapped_column(String(32), nullable=False, default="0.00")
    discount: Mapped[str] = mapped_column(String(32), nullable=False, default="0.00")
    tax: Mapped[str] = mapped_column(String(32), nullable=False, default="0.00")
    expires_on: Mapped[str | None] = mapped_column(String(10))
    notes: Mapped[str | None] = mapped_column(Text)


class Payment(Synced, Base):
    __tablename__ = "payments"
    __entity__ = "payment"

    # An entry of the patient's account, never changed once taken but for its void.
    # No foreign keys to the patient: a payment may arrive from another PC first.
    agreement_id: Mapped[str | None] = mapped_column(ForeignKey("agreements.id"), index=True)
    paid_on: Mapped[str] = mapped_column(String(10), nullable=False)
    amount: Mapped[str] = mapped_column(String(32), nullable=False)  # decimal text
    patient_id: Mapped[str | None] = mapped_column(String(36))
    method: Mapped[str | None] = mapped_column(String(16))
    taken_by: Mapped[str | None] = mapped_column(String(36))
    taken_by_name: Mapped[str | None] = mapped_column(String(500))
    void_reason: Mapped[str | None] = mapped_column(Text)
    voided_by: Mapped[str | None] = mapped_column(String(36))
    corrects: Mapped[str | None] = mapped_column(String(36))

    __table_args__ = (
        Index("ix_payments_patient", "patient_id", "paid_on"),
        Index("ix_payments_paid_on", "paid_on"),
    )


class RecordImage(Synced, Base):
    """An image filed in a patient's record; the bytes live in the image store by hash."""

    __tablename__ = "record_images"
    __entity__ = "record_image"

    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), nullable=False)
    # No foreign key: a record from another PC may arrive after its images.
    visit_id: Mapped[str | None] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(20), nullable=False, default="other")
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    filename: Mapped[str | None] = mapped_column(String(500))
    size: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    taken_at: Mapped[str | None] = mapped_column(String(32))
    series_uid: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (
        Index("ix_record_images_patient", "patient_id", "taken_at"),
        Index("ix_record_images_sha", "sha256"),
    )


class Note(Synced, Base):
    """A note sent from the web portal (append-only; written on the cloud only)."""

    __tablename__ = "notes"
    __entity__ = "note"

    # No foreign key: the note may be pulled in the same page as its patient.
    patient_id: Mapped[str] = mapped_column(String(36), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False, default="")
    author: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[str] = mapped_column(String(32), nullable=False, default="")

    __table_args__ = (Index("ix_notes_patient", "patient_id", "created_at"),)


class NoteRead(Base):
    """Local to this PC: a note's reminder was dismissed here."""

    __tablename__ = "note_reads"
    note_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    read_at: Mapped[str] = mapped_column(String(32), nullable=False)
    read_by: Mapped[str | None] = mapped_column(String(36))


class User(Synced, Base):
    """A program user of the practice (not a server account), synced to every PC.

    The username is unique among users not merged away; two PCs that each made the same
    one offline end with the later id `merged_into` the earlier (app.store.users.users_merge).
    """

    __tablename__ = "users"
    __entity__ = "user"

    username: Mapped[str] = mapped_column(String(100), nullable=False, index=True)
    display_name: Mapped[str] = mapped_column(String(200), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(200), nullable=False)
    role: Mapped[str] = mapped_column(String(10), nullable=False, default="member")
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    merged_into: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[str | None] = mapped_column(String(32))


class PatientMerge(Synced, Base):
    """Duplicate patients merged into one (see app.store.patients.merge_repo)."""

    __tablename__ = "patient_merges"
    __entity__ = "patient_merge"

    kept_id: Mapped[str] = mapped_column(String(36), nullable=False, index=True)
    merged_ids: Mapped[str] = mapped_column(Text, nullable=False, default="")
    merged_at: Mapped[str] = mapped_column(String(32), nullable=False)
    merged_by: Mapped[str | None] = mapped_column(String(36))
    undone_at: Mapped[str | None] = mapped_column(String(32))
    undone_by: Mapped[str | None] = mapped_column(String(36))
    moved: Mapped[int | None] = mapped_column(Integer)


class MergeMove(Synced, Base):
    """A row a merge moved to the kept patient, and the patient it came from."""

    __tablename__ = "merge_moves"
    __entity__ = "merge_move"

    # No foreign keys: a move may be pulled before its merge or its row.
    merge_id: Mapped[str] = mapped_column(String(36), nullable=False, index=True)
    row_entity: Mapped[str] = mapped_column(String(32), nullable=False)
    row_id: Mapped[str] = mapped_column(String(36), nullable=False)
    from_patient_id: Mapped[str] = mapped_column(String(36), nullable=False)


SYNCED_MODELS: tuple[type[Synced], ...] = (
    User,
    Patient,
    Visit,
    Chair,
    ProviderHours,
    Appointment,
    Agreement,
    Payment,
    RecordImage,
    Note,
    PatientMerge,
    MergeMove,
    ScanTicket,
    LabCase,
)
MODEL_BY_ENTITY: dict[str, type[Synced]] = {m.__entity__: m for m in SYNCED_MODELS}


class PatientTerm(Base):
    """Search index: one row per (prefix bucket, patient, term), read in display order.

    `pfx` is the first 1, 2 or 3 characters of a name-like term, or the first 3 of a
    phone-digit suffix; a query reads the bucket of its own first characters in
    display order and stops after a page, so its cost does not grow with the database.
    """

    __tablename__ = "patient_terms"
    pfx: Mapped[str] = mapped_column(String(3), primary_key=True)
    sort_key: Mapped[str] = mapped_column(String(1100), primary_key=True)
    num: Mapped[int] = mapped_column(Integer, primary_key=True)
    term: Mapped[str] = mapped_column(String(500), primary_key=True)
    # No index by number: a patient's rows are found by their keys, computed from his
    # stored values (app.store.patients.search_index.reindex). By term: the terms of
    # 3-character buckets (each term of 3 characters or more, once), for a query that
    # few patients match (app.store.patients.patient_search).
    __table_args__ = (
        Index("ix_patient_terms_term", "term", "sort_key", "num",
              sqlite_where=text("length(pfx) = 3")),
        {"sqlite_with_rowid": False},
    )


class Setting(Base):
    """Practice database settings, read by the app and the sync agent alike."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)


class OutboxMutation(Base):
    """A change waiting for the cloud, written in the transaction that made it."""

    __tablename__ = "outbox"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    mutation_id: Mapped[str] = mapped_column(String(36), unique=True, nullable=False)
    entity: Mapped[str] = mapped_column(String(32), nullable=False)
    entity_id: Mapped[str] = mapped_column(String(36), nullable=False)
    patient_id: Mapped[str | None] = mapped_column(String(36), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    created_at: Mapped[str] = mapped_column(String(32), nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="pending")
    last_error: Mapped[str | None] = mapped_column(Text)


class SyncState(Base):
    """This replica's identity and clock: one row."""

    __tablename__ = "sync_state"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    node_id: Mapped[str] = mapped_column(String(16), nullable=False)
    last_hlc: Mapped[str | None] = mapped_column(String(40))
    database_id: Mapped[str] = mapped_column(String(36), nullable=False)
    pull_cursor: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # Bumped whenever pulled changes are applied, so the app can tell data changes from
    # the agent's heartbeats.
    remote_version: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class AgentState(Base):
    """What the sync agent is doing, published for the app to show: one row."""

    __tablename__ = "agent_state"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pid: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[str | None] = mapped_column(String(32))
    heartbeat_at: Mapped[str | None] = mapped_column(String(32))
    stopped_at: Mapped[str | None] = mapped_column(String(32))
    online: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    waiting_changes: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    waiting_uploads: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    waiting_bytes: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    current_upload: Mapped[str | None] = mapped_column(String(500))
    upload_done: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    upload_total: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_sync_at: Mapped[str | None] = mapped_column(String(32))
    build: Mapped[str | None] = mapped_column(String(32))  # app.platform.build_id


class AgentRequest(Base):
    """Something the app asks of the agent: a kind of app.core.agent_requests.RequestKind."""

    __tablename__ = "agent_requests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    created_at: Mapped[str] = mapped_column(String(32), nullable=False)
    taken_at: Mapped[str | None] = mapped_column(String(32))
    done_at: Mapped[str | None] = mapped_column(String(32))
    result: Mapped[str | None] = mapped_column(Text)


class ConflictRecord(Base):
    """A concurrent edit that lost, kept for review (the conflict inbox): a copy of the
    cloud's list, which found it (see cloud.crud.conflicts), so every PC holds the same
    conflicts under the same keys."""

    __tablename__ = "conflicts"
    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    entity: Mapped[str] = mapped_column(String(32), nullable=False)
    entity_id: Mapped[str] = mapped_column(String(36), nullable=False, index=True)
    field: Mapped[str] = mapped_column(String(64), nullable=False)
    winner_value: Mapped[Any] = mapped_column(JSON)
    winner_hlc: Mapped[str] = mapped_column(String(40), nullable=False)
    loser_value: Mapped[Any] = mapped_column(JSON)
    loser_hlc: Mapped[str] = mapped_column(String(40), nullable=False)
    found_at: Mapped[str] = mapped_column(String(32), nullable=False)
    resolved_at: Mapped[str | None] = mapped_column(String(32))
    # "kept", "other", "dismissed" (a person's decision) or "elsewhere".
    resolution: Mapped[str | None] = mapped_column(String(10))
    # False while a decision made here has not reached the cloud yet.
    decision_sent: Mapped[bool] = mapped_column(
        Boolean, default=True, server_default=true(), nullable=False
    )


class UnappliedChange(Base):
    """A pulled change that could not be applied here (text that is not valid Unicode,
    a value of the wrong kind), set aside so that the rest of its page applies."""

    __tablename__ = "unapplied_changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(String(32), nullable=False)
    entity_id: Mapped[str] = mapped_column(String(64), nullable=False)
    reason: Mapped[str] = mapped_column(String(500), nullable=False)
    change: Mapped[str] = mapped_column(Text, nullable=False)  # ASCII JSON, cut short
    found_at: Mapped[str] = mapped_column(String(32), nullable=False)


class Upload(Base):
    """A file waiting for (or sent to) the cloud over tus; resumable across restarts."""

    __tablename__ = "uploads"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    path: Mapped[str] = mapped_column(Text, nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    patient_id: Mapped[str | None] = mapped_column(String(36), index=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False, default="other")
    filename: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    url: Mapped[str | None] = mapped_column(Text)
    offset: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="pending")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[str] = mapped_column(String(32), nullable=False)
    done_at: Mapped[str | None] = mapped_column(String(32))


class AcquisitionContext(Base):
    """The acquisition active on this PC ("Acquire images"): one row, never synced."""

    __tablename__ = "acquisition_context"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[str | None] = mapped_column(String(36))
    visit_id: Mapped[str | None] = mapped_column(String(36))
    started_at: Mapped[str | None] = mapped_column(String(32))
    started_by: Mapped[str | None] = mapped_column(String(36))


class AcquisitionItem(Base):
    """A file met in the acquisition folder and what became of it (local only).

    Statuses: attached (filed in a record), unassigned (stored, waiting for a person
    to pick the patient), quarantined (stored, its DICOM header names someone else),
    failed (not imported; the source file is left where it was, untouched).
    """

    __tablename__ = "acquisition_items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(Text, nullable=False, index=True)
    filename: Mapped[str] = mapped_column(String(500), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    mtime_ns: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False, default="other")
    status: Mapped[str] = mapped_column(String(12), nullable=False, index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    dicom_patient: Mapped[str | None] = mapped_column(String(500))
    dicom_birth_date: Mapped[str | None] = mapped_column(String(10))
    series_uid: Mapped[str | None] = mapped_column(String(500))
    taken_at: Mapped[str | None] = mapped_column(String(32))
    patient_id: Mapped[str | None] = mapped_column(String(36))
    image_id: Mapped[str | None] = mapped_column(String(36))
    found_at: Mapped[str] = mapped_column(String(32), nullable=False)
    done_at: Mapped[str | None] = mapped_column(String(32))
