"""The entities of the sync wire schema: each entity's fields and their kinds, and the
limits a mutation must keep. `app.core.wire` checks mutations against them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

SCHEMA_VERSION = 1
# A pushed batch is one transaction of its installation: larger batches commit (and
# wait for the disk) fewer times in a first upload. Clouds before this took 500 / 2 MiB.
MAX_BATCH_MUTATIONS = 5000
MAX_BATCH_BYTES = 8 * 1024 * 1024
SHORT_TEXT_MAX = 500
LONG_TEXT_MAX = 20_000


@dataclass(frozen=True, slots=True)
class FieldSpec:
    # "str", "text", "int", "money", "bool", "date", "datetime", "uuid", "enum", "argon2id"
    kind: str
    nullable: bool = True
    choices: tuple[str, ...] = ()
    ref: str | None = None  # the entity a "uuid" field points to


@dataclass(frozen=True, slots=True)
class EntitySpec:
    name: str
    fields: Mapping[str, FieldSpec]
    append_only: bool = False  # each row is a fact of its own; never merged into another
    patient_field: str | None = "patient_id"  # how a row reaches its patient


S = FieldSpec("str")
T = FieldSpec("text")
D = FieldSpec("date")
I = FieldSpec("int")  # noqa: E741
B = FieldSpec("bool", nullable=False)
M = FieldSpec("money")
M_REQUIRED = FieldSpec("money", nullable=False)
GENDERS = ("female", "male", "other", "unknown")
APPOINTMENT_STATUSES = ("booked", "arrived", "in_chair", "done", "cancelled", "no_show")
ROLES = ("admin", "member")
SCAN_TYPES = ("intraoral", "face")
TICKET_STATUSES = ("open", "scanned", "cancelled")
# A case is a draft until sent; the lab then moves it on.
CASE_STATUSES = ("draft", "sent", "received", "in_progress", "shipped")
LAB_STATUSES = ("received", "in_progress", "shipped")
PAYMENT_METHODS = ("cash", "card", "transfer", "cheque", "insurance", "other")
IMAGE_KINDS = (
    "intraoral_scan",
    "face_scan",
    "intraoral_photo",
    "facial_photo",
    "xray",
    "panoramic",
    "cephalometric",
    "cbct",
    "document",
    "other",
)

# What a merge of patients moves. "case_draft" names the draft cases of old (kept on
# their PC only, now lab cases under the same ids): merges made then still say it.
MOVABLE_ENTITIES = (
    "visit", "appointment", "agreement", "payment", "record_image", "note", "case_draft",
    "scan_ticket", "lab_case",
)


def _ref(entity: str, nullable: bool = False) -> FieldSpec:
    return FieldSpec("uuid", nullable=nullable, ref=entity)


ENTITIES: dict[str, EntitySpec] = {
    spec.name: spec
    for spec in (
        EntitySpec(
            "patient",
            {
                "first_name": FieldSpec("str", nullable=False),
                "last_name": S,
                "gender": FieldSpec("enum", nullable=False, choices=GENDERS),
                "birth_date": D,
                "mobile": S,
                "landline": S,
                "id_number": S,
                "insurance_card_number": S,
                "email": S,
                "address": T,
                "note": T,
                "card_number": S,
                "responsible_user_id": FieldSpec("uuid"),
                "case_types": S,
                "past_medical_history": T,
                "diseases": T,
                "medications": T,
                "oral_habits": T,
                "allergies": T,
                "provisional": B,
                "merged_into": _ref("patient", nullable=True),
                "deleted": B,
            },
            patient_field=None,
        ),
        EntitySpec(
            "visit",
            {
                "patient_id": _ref("patient"),
                "visit_date": FieldSpec("date", nullable=False),
                "name": S,
                "procedure": T,
                "amount_paid": M,
                "notes": T,
                "next_visit_date": D,
                "next_visit_minutes": I,
                "doctor_id": FieldSpec("uuid"),
                "charge": M,
                "bill_insurance": FieldSpec("bool"),
                "deleted": B,
            },
            append_only=True,
        ),
        EntitySpec(
            "appointment",
            {
                "patient_id": _ref("patient"),
                "starts_at": FieldSpec("datetime", nullable=False),
                "duration_minutes": FieldSpec("int", nullable=False),
                "reason": T,
                "status": FieldSpec("enum", nullable=False, choices=APPOINTMENT_STATUSES),
                "doctor_id": FieldSpec("uuid"),
                # The appointment book: which chair, a note, and who set the status when
                # (a cancellation keeps its reason; nothing is deleted).
                "chair_id": _ref("chair", nullable=True),
                "note": T,
                "status_at": FieldSpec("datetime"),
                "status_by": FieldSpec("uuid"),
                "cancel_reason": T,
                "deleted": B,
            },
            append_only=True,
        ),
        # A chair (operatory): a column of the appointment book, set by an administrator.
        EntitySpec(
            "chair",
            {
                "name": FieldSpec("str", nullable=False),
                "position": FieldSpec("int", nullable=False),
                "active": B,
                "deleted": B,
            },
            patient_field=None,
        ),
        # A provider's working hours, set by an administrator: per weekday "HH:MM-HH:MM"
        # or empty for a day off (app.core.hours). One row per provider, its id derived
        # from the provider's, so two PCs setting hours offline edit the same row.
        EntitySpec(
            "provider_hours",
            {
                "user_id": _ref("user"),
                **{day: S for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
                "deleted": B,
            },
            patient_field=None,
        ),
        # A scan to take (seed 002's scan ticket): open until scanned or cancelled.
        EntitySpec(
            "scan_ticket",
            {
                "patient_id": _ref("patient"),
                "scan_type": FieldSpec("enum", nullable=False, choices=SCAN_TYPES),
                "case_type": S,
                "visit_type": S,
                "doctor_id": FieldSpec("uuid"),
                "note": T,
                "status": FieldSpec("enum", nullable=False, choices=TICKET_STATUSES),
                "created_at": FieldSpec("datetime"),
                "created_by": FieldSpec("uuid"),
                "status_at": FieldSpec("datetime"),
                "status_by": FieldSpec("uuid"),
                "image_ids": T,  # the scans filed for it (record_image ids, comma-separated)
                "deleted": B,
            },
        ),
        # A lab case (an order to a connected lab, named by its institution code): the
        # clinic writes it and sends it; the lab sets its status on the portal.
        EntitySpec(
            "lab_case",
            {
                "patient_id": _ref("patient"),
                "lab_code": S,
                "lab_name": S,
                "case_type": S,
                "due_date": D,
                "instructions": T,
                "image_ids": T,  # record_image ids, comma-separated
                "status": FieldSpec("enum", nullable=False, choices=CASE_STATUSES),
                "status_note": T,
                "status_at": FieldSpec("datetime"),
                "status_by": S,
                "created_at": FieldSpec("datetime"),
                "created_by": FieldSpec("uuid"),
                "sent_at": FieldSpec("datetime"),
                "deleted": B,
            },
        ),
        EntitySpec(
            "agreement",
            {
                "patient_id": _ref("patient"),
                "title": S,
                "total": M_REQUIRED,
                "discount": M_REQUIRED,
                "tax": M_REQUIRED,
                "expires_on": D,
                "notes": T,
                "deleted": B,
            },
            append_only=True,
        ),
        EntitySpec(
            "payment",
            {
                "agreement_id": _ref("agreement", nullable=True),
                "paid_on": FieldSpec("date", nullable=False),
                "amount": M_REQUIRED,
                # Null only on payments taken before the ledger (reached by their agreement).
                "patient_id": _ref("patient", nullable=True),
                "method": FieldSpec("enum", choices=PAYMENT_METHODS),
                "taken_by": _ref("user", nullable=True),
                "taken_by_name": S,
                "void_reason": T,
                "voided_by": _ref("user", nullable=True),
                "corrects": _ref("payment", nullable=True),
                "deleted": B,
            },
            append_only=True,
        ),
        # An image filed in a patient's record. Named apart from the cloud's own "image"
        # arrival facts: those say bytes arrived; this says where the clinic filed them.
        # The file itself travels by tus, identified by sha256. A CBCT series is one row
        # whose sha256 is that of its manifest (app.imaging.series), with series_uid set.
        EntitySpec(
            "record_image",
            {
                "patient_id": _ref("patient"),
                "visit_id": _ref("visit", nullable=True),
                "kind": FieldSpec("enum", nullable=False, choices=IMAGE_KINDS),
                "sha256": FieldSpec("str", nullable=False),
                "filename": S,
                "size": FieldSpec("int", nullable=False),
                "taken_at": FieldSpec("datetime"),
                "series_uid": S,
                "deleted": B,
            },
            append_only=True,
        ),
        # A program user of the practice (who signs in to the desktop app). Never
        # deleted — a disabled user stays, since records keep their author — and never
        # shown by the portal: the password hash travels only in the device sync API.
        # Two users created with the same name while offline become one: the later id
        # is `merged_into` the earlier and resolves to it (app.store.users.users_merge).
        EntitySpec(
            "user",
            {
                "username": FieldSpec("str", nullable=False),
                "display_name": FieldSpec("str", nullable=False),
                "role": FieldSpec("enum", nullable=False, choices=ROLES),
                "active": B,
                "password_hash": FieldSpec("argon2id", nullable=False),
                "merged_into": _ref("user", nullable=True),
                "created_at": FieldSpec("datetime"),
                "updated_at": FieldSpec("datetime"),
            },
            patient_field=None,
        ),
        # A note a doctor sent from the web portal: written on the cloud, pulled by
        # every PC, shown in the notes window and when its patient's file is opened.
        EntitySpec(
            "note",
            {
                "patient_id": _ref("patient"),
                "body": FieldSpec("text", nullable=False),
                "author": S,
                "created_at": FieldSpec("datetime", nullable=False),
                "deleted": B,
            },
            append_only=True,
        ),
        # A merge of duplicate patients, made from the kept patient's file: which
        # profiles were merged (space-separated ids) and when; undone within 30 days.
        EntitySpec(
            "patient_merge",
            {
                "kept_id": _ref("patient"),
                "merged_ids": FieldSpec("text", nullable=False),
                "merged_at": FieldSpec("datetime", nullable=False),
                "merged_by": FieldSpec("uuid"),
                "undone_at": FieldSpec("datetime"),
                "undone_by": FieldSpec("uuid"),
                # How many rows it moved: a PC undoes it only once all their moves arrived.
                "moved": I,
                "deleted": B,
            },
            patient_field=None,
        ),
        # One row moved by a merge, and the profile it belonged to: what an undo puts back.
        EntitySpec(
            "merge_move",
            {
                "merge_id": _ref("patient_merge"),
                "row_entity": FieldSpec("enum", nullable=False, choices=MOVABLE_ENTITIES),
                "row_id": FieldSpec("uuid", nullable=False),
                "from_patient_id": _ref("patient"),
                "deleted": B,
            },
            append_only=True,
            patient_field=None,
        ),
    )
}
