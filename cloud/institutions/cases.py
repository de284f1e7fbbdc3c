"""Lab cases as a lab sees them: the cases the clinics connected to it sent to it, and
the status it sets (received, in progress, shipped, with a note), written like any
synced change (cloud.crud.record_log) so that every PC of the clinic pulls it.

A case is the clinics' `lab_case` record naming the lab by its institution code. The
lab sees it only while the connection is approved, only once it was sent and only once
every attached image is stored here whole (a PC marks a case sent at once, offline too,
and its images follow; whatever arrives first, the lab never meets a case whose files
are missing); anything else answers as if the case did not exist.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.hlc import Timestamp
from app.core.wire import LAB_STATUSES
from cloud import audit
from cloud.crud import Refused
from cloud.crud.record_log import RecordLog, RecordState
from cloud.db import write_transaction
from cloud.institutions.dissolution import current, guard
from cloud.institutions.models import APPROVED, ConnectionRequest, Institution
from cloud.models import Image, Record
from cloud.portal import clock
from cloud.portal.notes import PORTAL_NODE

MAX_NOTE = 2000
STATUS_WORDS = {"sent": "New", "received": "Received", "in_progress": "In progress",
                "shipped": "Shipped"}


@dataclass(frozen=True, slots=True)
class Attachment:
    id: str
    filename: str
    kind: str
    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class LabCaseView:
    id: str
    clinic: str
    patient: str
    case_type: str
    due_date: str
    instructions: str
    status: str
    status_note: str
    sent_at: str
    attachments: tuple[Attachment, ...]
    clinic_region: str = ""  # the clinic's country code, as its administrator set it

    @property
    def status_words(self) -> str:
        return STATUS_WORDS.get(self.status, self.status)


def _clinics(session: Session, lab: Institution) -> dict[str, Institution]:
    """The connected clinics, by installation: none for a lab being dissolved (refused
    with the reason), none being dissolved (their cases are not received meanwhile)."""
    guard(session, lab)
    rows = session.scalars(select(Institution).join(
        ConnectionRequest, ConnectionRequest.clinic_id == Institution.id).where(
        ConnectionRequest.lab_id == lab.id, ConnectionRequest.state == APPROVED))
    return {c.installation_id: c for c in rows
            if c.installation_id and current(session, c) is None}


def _for_lab(rec: Record, lab: Institution) -> bool:
    f = rec.fields
    return (rec.entity == "lab_case" and not f.get("deleted")
            and str(f.get("lab_code") or "").upper() == lab.code.upper()
            and f.get("status") not in (None, "draft"))


def _delivered(session: Session, rec: Record) -> bool:
    """Whether every attached image (not deleted since) is stored here, verified."""
    wanted: set[str] = set()
    for image_id in str(rec.fields.get("image_ids") or "").split(","):
        if not image_id:
            continue
        img = _record(session, rec.installation_id, "record_image", image_id)
        if img is None:
            return False  # its record has not arrived yet
        if not img.fields.get("deleted"):
            wanted.add(str(img.fields.get("sha256") or ""))
    if not wanted:
        return True
    stored = set(session.scalars(select(Image.sha256).where(
        Image.installation_id == rec.installation_id, Image.sha256.in_(wanted))))
    return wanted <= stored


def _record(session: Session, inst_id: str, entity: str, entity_id: Any) -> Record | None:
    return session.scalar(select(Record).where(
        Record.installation_id == inst_id, Record.entity == entity,
        Record.entity_id == str(entity_id)))


def _view(session: Session, rec: Record, clinic: Institution, details: bool) -> LabCaseView:
    f = rec.fields
    patient = _record(session, rec.installation_id, "patient", f.get("patient_id"))
    name = " ".join(str(patient.fields.get(k) or "") for k in ("first_name", "last_name")
                    ).strip() if patient else ""
    attachments: list[Attachment] = []
    for image_id in str(f.get("image_ids") or "").split(",") if details else ():
        img = _record(session, rec.installation_id, "record_image", image_id)
        if img is not None and not img.fields.get("deleted"):
            g = img.fields
            attachments.append(Attachment(img.entity_id, str(g.get("filename") or "image"),
                                          str(g.get("kind") or ""), int(g.get("size") or 0),
                                          str(g.get("sha256") or "")))
    return LabCaseView(rec.entity_id, clinic.name, name, str(f.get("case_type") or ""),
                       str(f.get("due_date") or ""), str(f.get("instructions") or ""),
                       str(f.get("status")), str(f.get("status_note") or ""),
                       str(f.get("sent_at") or "")[:16].replace("T", " "),
                       tuple(attachments), clinic.region)


def cases_of(session: Session, lab: Institution) -> list[LabCaseView]:
    """The cases sent to this lab by the clinics connected to it, newest first."""
    clinics = _clinics(session, lab)
    if not clinics:
        return []
    found = session.scalars(select(Record).where(
        Record.installation_id.in_(list(clinics)), Record.entity == "lab_case"))
    views = [_view(session, r, clinics[r.installation_id], False)
             for r in found if _for_lab(r, lab) and _delivered(session, r)]
    return sorted(views, key=lambda v: v.sent_at, reverse=True)


def _find(session: Session, lab: Institution, case_id: str) -> tuple[Record, Institution]:
    clinics = _clinics(session, lab)
    rec = session.scalar(select(Record).where(
        Record.entity_id == case_id[:36], Record.entity == "lab_case"))
    if (rec is None or rec.installation_id not in clinics or not _for_lab(rec, lab)
            or not _delivered(session, rec)):
        raise Refused(404, "There is no such case.")
    return rec, clinics[rec.installation_id]


def case_of(session: Session, lab: Institution, case_id: str) -> LabCaseView:
    rec, clinic = _find(session, lab, case_id)
    return _view(session, rec, clinic, True)


def attachment_of(session: Session, lab: Institution, case_id: str,
                  image_id: str) -> Attachment:
    for a in case_of(session, lab, case_id).attachments:
        if a.id == image_id:
            return a
    raise Refused(404, "There is no such attachment.")


def set_status(session: Session, lab: Institution, who: str, case_id: str, status: str,
               note: str, address: str) -> None:
    if status not in LAB_STATUSES:
        raise Refused(422, "Choose received, in progress or shipped.")
    note = note.strip()
    if len(note) > MAX_NOTE or "\x00" in note:
        raise Refused(422, f"A note has at most {MAX_NOTE} characters.")
    rec, _clinic = _find(session, lab, case_id)
    inst_id, entity_id = rec.installation_id, rec.entity_id
    now = clock.now()
    hlc = str(Timestamp(time.time_ns() // 1_000_000, 0, PORTAL_NODE))
    values = {"status": status, "status_note": note or None,
              "status_at": now.isoformat(timespec="seconds"), "status_by": who[:500]}
    with write_transaction(session, inst_id) as inst:
        fresh = _record(session, inst_id, "lab_case", entity_id)
        assert fresh is not None
        state = RecordState.of(fresh)
        inst.last_seq += 1
        log = RecordLog(inst.id)
        log.put(state, entity_id, values, dict.fromkeys(values, hlc),
                {k: (state.stamps.get(k) or None) for k in values},
                seq=inst.last_seq, origin_node=PORTAL_NODE, now=now)
        log.write(session.connection())
    audit.record(session, actor=who, action="lab_case_status", installation_id=inst_id,
                 target=entity_id, address=address)
