"""The sync wire schema, shared by the desktop, the sync agent and the cloud.

A mutation says: these fields of this row of this entity now have these values, each
stamped with the hybrid-logical-clock time of its change on the node that made it.
Its UUID is the idempotency key: the server applies a mutation once and answers a
replay with the stored result. Values are JSON: text, integers, money as decimal text
with two places ("1250.00"; never floats — see app.core.money), booleans, ISO dates and
UTC datetimes, UUID references, or null.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.core.hlc import Timestamp
from app.core.ids import is_uuid
from app.core.money import from_wire, to_wire, wire_problem

SCHEMA_VERSION = 1
MAX_BATCH_MUTATIONS = 500
MAX_BATCH_BYTES = 2 * 1024 * 1024
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

# What a merge of patients moves (a case draft is kept on its PC only, but moves too).
MOVABLE_ENTITIES = (
    "visit", "appointment", "agreement", "payment", "record_image", "note", "case_draft",
    "scan_ticket",
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


class SchemaError(ValueError):
    """A mutation that does not fit the wire schema; the message says why."""


@dataclass(frozen=True, slots=True)
class Mutation:
    id: str
    entity: str
    entity_id: str
    node: str
    fields: dict[str, Any] = field(default_factory=dict)
    hlc: dict[str, str] = field(default_factory=dict)
    # The stamp each field had on the node when it was changed there (None: the field
    # was new). A change whose base is older than the value it meets did not see that
    # value: the two are concurrent, and the loser becomes a conflict record.
    base: dict[str, str | None] = field(default_factory=dict)

    def to_wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "entity": self.entity,
            "entity_id": self.entity_id,
            "node": self.node,
            "fields": dict(self.fields),
            "hlc": dict(self.hlc),
            "base": dict(self.base),
        }

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Mutation:
        """Parse and validate one mutation; raises SchemaError with a reason."""
        if not isinstance(data, Mapping):
            raise SchemaError("a mutation must be an object")
        unknown = set(data) - {"id", "entity", "entity_id", "node", "fields", "hlc", "base"}
        if unknown:
            raise SchemaError(f"unknown keys in mutation: {sorted(unknown)}")
        m = cls(
            id=data.get("id"),  # type: ignore[arg-type]
            entity=data.get("entity"),  # type: ignore[arg-type]
            entity_id=data.get("entity_id"),  # type: ignore[arg-type]
            node=data.get("node"),  # type: ignore[arg-type]
            fields=data.get("fields"),  # type: ignore[arg-type]
            hlc=data.get("hlc"),  # type: ignore[arg-type]
            base=data.get("base", {}),  # type: ignore[arg-type]
        )
        validate(m)
        return normalized(m)


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Text is Unicode scalar values only: a lone surrogate can not be encoded (UTF-8,
# SQLite, PostgreSQL), so one would stop every replica that reads it. Control
# characters other than tab and line breaks have no place in a record either.
_BAD_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def text_problem(value: str) -> str | None:
    """None when `value` is text a record may hold, else the reason it is not."""
    bad = _BAD_TEXT.search(value)
    if bad is None:
        return None
    code = ord(bad.group())
    if 0xD800 <= code <= 0xDFFF:
        return "contains a broken character"
    if code == 0:
        return "contains a NUL character"
    return f"contains a control character (U+{code:04X})"
# An argon2id hash in its PHC text form: the parameters, salt and hash, never a password.
_ARGON2ID = re.compile(r"^\$argon2id\$v=\d+\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$")
_NODE = re.compile(r"^[0-9a-f]{16}$")


def check_value(spec: FieldSpec, value: Any) -> str | None:
    """None when `value` fits `spec`, else the reason it does not."""
    if value is None:
        return None if spec.nullable else "may not be empty"
    kind = spec.kind
    if kind in ("str", "text"):
        if not isinstance(value, str):
            return "must be text"
        limit = SHORT_TEXT_MAX if kind == "str" else LONG_TEXT_MAX
        if len(value) > limit:
            return f"is longer than {limit} characters"
        return text_problem(value)
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            return "must be a whole number"
        if abs(value) > 2**53:
            return "is out of range"
        return None
    if kind == "money":
        return wire_problem(value)
    if kind == "bool":
        return None if isinstance(value, bool) else "must be true or false"
    if kind == "enum":
        return None if value in spec.choices else f"must be one of {', '.join(spec.choices)}"
    if kind == "uuid":
        return None if is_uuid(value) else "must be a UUID"
    if kind == "date":
        if not isinstance(value, str) or not _DATE.match(value):
            return "must be a date (YYYY-MM-DD)"
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            return "is not a real date"
        return None
    if kind == "datetime":
        if not isinstance(value, str):
            return "must be a date and time"
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            return "is not a real date and time"
        if parsed.tzinfo is None or parsed.utcoffset() != dt.timedelta(0):
            return "must be in UTC"
        return None
    if kind == "argon2id":
        ok = isinstance(value, str) and len(value) <= 200 and _ARGON2ID.match(value)
        return None if ok else "must be an argon2id password hash"
    return f"has an unknown kind {kind}"


def validate(m: Mutation) -> None:
    if not is_uuid(m.id):
        raise SchemaError("mutation id must be a UUID")
    if not isinstance(m.entity, str) or m.entity not in ENTITIES:
        raise SchemaError(f"unknown entity: {str(m.entity)[:40]!r}")
    if not is_uuid(m.entity_id):
        raise SchemaError("entity_id must be a UUID")
    if not isinstance(m.node, str) or not _NODE.match(m.node):
        raise SchemaError("node must be 16 hex digits")
    if not isinstance(m.fields, dict) or not m.fields:
        raise SchemaError("fields must be a non-empty object")
    if not isinstance(m.hlc, dict) or set(m.hlc) != set(m.fields):
        raise SchemaError("hlc must stamp exactly the changed fields")
    if not isinstance(m.base, dict) or not set(m.base) <= set(m.fields):
        raise SchemaError("base may only stamp changed fields")
    for name, stamp in m.base.items():
        if stamp is not None:
            if not isinstance(stamp, str):
                raise SchemaError(f"base of {name} must be text or null")
            try:
                Timestamp.check(stamp)
            except ValueError as exc:
                raise SchemaError(f"base of {name}: {exc}") from None
    spec = ENTITIES[m.entity]
    checked: set[str] = set()  # the fields of one change share a stamp
    for name, value in m.fields.items():
        fspec = spec.fields.get(name)
        if fspec is None:
            raise SchemaError(f"unknown field {m.entity}.{str(name)[:40]}")
        problem = check_value(fspec, value)
        if problem:
            raise SchemaError(f"{m.entity}.{name} {problem}")
        stamp = m.hlc[name]
        if not isinstance(stamp, str):
            raise SchemaError(f"hlc of {name} must be text")
        if stamp in checked:
            continue
        try:
            Timestamp.check(stamp)
        except ValueError as exc:
            raise SchemaError(f"hlc of {name}: {exc}") from None
        checked.add(stamp)


def normal_value(spec: FieldSpec, value: Any) -> Any:
    """A valid value in today's form: money written as minor units (before decimal
    text) becomes decimal text. Everything else is returned as it is."""
    if spec.kind == "money" and isinstance(value, int) and not isinstance(value, bool):
        return to_wire(from_wire(value))
    return value


def normalized(m: Mutation) -> Mutation:
    spec = ENTITIES[m.entity].fields
    fields = {n: normal_value(spec[n], v) for n, v in m.fields.items()}
    if fields == m.fields:
        return m
    return Mutation(m.id, m.entity, m.entity_id, m.node, fields, m.hlc, m.base)


def wins(a_hlc: str, b_hlc: str) -> bool:
    """True when a value stamped `a_hlc` beats one stamped `b_hlc` (last writer wins).

    The text form orders like the timestamp and ends in the node id, so this is the
    (HLC, node) rule of ARCHITECTURE.md without parsing.
    """
    return a_hlc > b_hlc
