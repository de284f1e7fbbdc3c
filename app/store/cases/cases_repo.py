"""Lab cases: written for a patient with a connected lab, images attached, then sent;
the lab's status (received, in progress, shipped) comes back through the sync."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.imaging.cas import ImageStore
from app.store import access
from app.store.cases.models import LabCase
from app.store.db import Database
from app.store.dto import Viewer
from app.store.errors import NotFoundError
from app.store.models import OutboxMutation, Patient, RecordImage, Upload
from app.store.patients.records_repo import InvalidRecordError
from app.store.sync.outbox import utc_now_text

CASE_STATUS_LABELS = {"draft": "Draft", "sent": "Sent", "received": "Received by the lab",
                      "in_progress": "In progress", "shipped": "Shipped"}


@dataclass(frozen=True, slots=True)
class CaseRow:
    id: str
    patient_id: str
    lab_code: str | None
    lab_name: str | None
    case_type: str | None
    due_date: str | None
    instructions: str | None
    image_ids: tuple[str, ...]
    status: str
    status_note: str | None
    status_at: str | None
    sent_at: str | None
    # Of the attached images, how many this PC knows to be on the server; and whether
    # the case itself still waits to leave this PC.
    on_server: int = 0
    queued: bool = False

    @property
    def status_words(self) -> str:
        """The lab sees a sent case once every attachment is on the server (the cloud
        holds it back until then): until this PC knows so, it is still being sent."""
        if self.status == "sent":
            n = len(self.image_ids)
            if self.on_server < n:
                images = "image" if n == 1 else "images"
                return f"Sending — {self.on_server} of {n} {images} on the server"
            if self.queued:
                return "Sending — waiting for the server"
        return CASE_STATUS_LABELS.get(self.status, self.status)


def _row(c: LabCase, on_server: int = 0, queued: bool = False) -> CaseRow:
    ids = tuple(i for i in (c.image_ids or "").split(",") if i)
    return CaseRow(c.id, c.patient_id, c.lab_code, c.lab_name, c.case_type, c.due_date,
                   c.instructions, ids, c.status, c.status_note, c.status_at, c.sent_at,
                   on_server, queued)


def _delivery(s: Any, files: ImageStore, cases: list[LabCase]) -> list[CaseRow]:
    """The rows with what this PC knows of their images on the server: uploaded from
    here and verified, or (filed on another PC) downloaded from the server."""
    sent = [c for c in cases if c.status == "sent"]
    ids = {i for c in sent for i in (c.image_ids or "").split(",") if i}
    sha = dict(s.execute(select(RecordImage.id, RecordImage.sha256)
                         .where(RecordImage.id.in_(ids))).all()) if ids else {}
    uploads = dict(s.execute(select(Upload.sha256, Upload.status)
                             .where(Upload.sha256.in_(set(sha.values())))).all()) if sha else {}
    # By patient first: the outbox is indexed so, and can be long after an outage.
    queued = set(s.scalars(select(OutboxMutation.entity_id).where(
        OutboxMutation.patient_id.in_({c.patient_id for c in sent}),
        OutboxMutation.entity_id.in_([c.id for c in sent]),
        # A change the server refused has not reached the lab either.
        OutboxMutation.status.in_(("pending", "failed"))))) if sent else set()

    def up(image_id: str) -> bool:
        h = sha.get(image_id)
        if h is None:
            return False
        state = uploads.get(h)
        return state == "done" if state is not None else files.has(h)

    out = []
    for c in cases:
        n = sum(up(i) for i in (c.image_ids or "").split(",") if i) if c in sent else 0
        out.append(_row(c, n, c.id in queued))
    return out


def mixed_records(imgs: Iterable[RecordImage]) -> str | None:
    """The lab's rule for a case: the images of one kind all come from a single record.
    None when they do, else why not."""
    records: dict[str, set[str | None]] = {}
    for i in imgs:
        records.setdefault(i.kind, set()).add(i.visit_id)
    mixed = sorted(k for k, v in records.items() if len(v) > 1)
    if not mixed:
        return None
    return ("Images of one kind must come from a single record; these come from "
            f"several: {', '.join(k.replace('_', ' ') for k in mixed)}.")


def _short(value: Any, what: str, limit: int = 500) -> str | None:
    text = str(value or "").strip()
    if len(text) > limit:
        raise InvalidRecordError(f"{what} is longer than {limit} characters.")
    return text or None


def _values(s: Any, patient_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """The checked columns of a case from the form's `data`."""
    if not data.get("lab_code"):
        raise InvalidRecordError("Choose the lab the case goes to.")
    due = data.get("due_date") or None
    if due:
        try:
            dt.date.fromisoformat(due)
        except ValueError:
            raise InvalidRecordError("The due date is not a date.") from None
    family = set(access.family(s, patient_id))
    image_ids = [str(i) for i in dict.fromkeys(data.get("image_ids") or ())]
    if image_ids:
        found = [
            r for r in s.scalars(select(RecordImage).where(
                RecordImage.id.in_(image_ids), RecordImage.deleted.is_(False)))
            if r.patient_id in family
        ]
        if set(image_ids) - {r.id for r in found}:
            raise InvalidRecordError("An attached image is not one of this patient's.")
        problem = mixed_records(found)
        if problem:
            raise InvalidRecordError(problem)
    return {
        "lab_code": _short(data.get("lab_code"), "The lab"),
        "lab_name": _short(data.get("lab_name"), "The lab's name"),
        "case_type": _short(data.get("case_type"), "The case type"),
        "due_date": due,
        "instructions": _short(data.get("instructions"), "The instructions", 20_000),
        "image_ids": ",".join(image_ids) or None,
    }


class CasesRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, viewer: Viewer, patient_id: str, data: dict[str, Any]) -> CaseRow:
        """A draft case. `data`: lab_code, lab_name, case_type, due_date (ISO),
        instructions, image_ids (of this patient's images)."""
        with self.db.write() as s:
            access.check(viewer, s.get(Patient, patient_id))
            case = LabCase(patient_id=patient_id, status="draft", created_at=utc_now_text(),
                           created_by=viewer.user_id, **_values(s, patient_id, data))
            s.add(case)
            s.flush()
            return _row(case)

    def update(self, viewer: Viewer, case_id: str, data: dict[str, Any]) -> CaseRow:
        """Change a draft (the same `data` as create): a case made before the lab was
        chosen gets its lab here."""
        with self.db.write() as s:
            case = self._case(s, viewer, case_id)
            if case.status != "draft":
                raise InvalidRecordError("This case was sent already.")
            for name, value in _values(s, case.patient_id, data).items():
                if getattr(case, name) != value:
                    setattr(case, name, value)
            s.flush()
            return _row(case)

    def send(self, viewer: Viewer, case_id: str) -> CaseRow:
        """Send a draft to its lab: the lab sees it once this change reaches the server."""
        with self.db.write() as s:
            case = self._case(s, viewer, case_id)
            if case.status != "draft":
                raise InvalidRecordError("This case was sent already.")
            if not case.lab_code:
                raise InvalidRecordError("Choose the lab this case goes to first: Edit the "
                                         "case, then send it.")
            now = utc_now_text()
            case.status = "sent"
            case.sent_at = now
            case.status_at = now
            case.status_by = viewer.name or None
            s.flush()
            return _row(case)

    def for_patient(self, viewer: Viewer, patient_id: str) -> list[CaseRow]:
        with self.db.read() as s:
            access.check(viewer, s.get(Patient, patient_id))
            stmt = (
                select(LabCase)
                .where(LabCase.patient_id.in_(access.family(s, patient_id)),
                       LabCase.deleted.is_(False))
                .order_by(LabCase.created_at.desc(), LabCase.id)
            )
            return _delivery(s, ImageStore.of(self.db), list(s.scalars(stmt)))

    def _case(self, s: Session, viewer: Viewer, case_id: str) -> LabCase:
        case = s.get(LabCase, case_id)
        if case is None or case.deleted:
            raise NotFoundError("This case is no longer on file.")
        access.check(viewer, s.get(Patient, case.patient_id))
        return case
