"""Notes sent from the portal: new append-only `note` records, written with their
change-log row by the same function as pushed changes (cloud.crud.record_log), so
every PC of the clinic pulls them."""

from __future__ import annotations

import time

from sqlalchemy.orm import Session

from app.core.hlc import Timestamp
from app.core.ids import new_id
from cloud import audit
from cloud.crud import Refused
from cloud.crud.record_log import RecordLog, RecordState
from cloud.db import write_transaction
from cloud.policy import Principal, patient, require_doctor
from cloud.portal import clock

PORTAL_NODE = "0" * 16  # the origin node of changes made on the portal
MAX_NOTE = 4000


def add_note(session: Session, p: Principal, *, patient_id: str, body: str,
             address: str) -> str:
    """Store a note on a patient `p` may see; returns the note's id."""
    require_doctor(p)
    body = body.strip()
    if not body:
        raise Refused(422, "the note is empty")
    if len(body) > MAX_NOTE or "\x00" in body:
        raise Refused(422, f"a note has at most {MAX_NOTE} characters")
    patient(session, p, patient_id)
    from cloud.institutions.dissolution import guard_installation

    guard_installation(session, p.installation_id)
    note_id = new_id()
    now = clock.now()
    hlc = str(Timestamp(time.time_ns() // 1_000_000, 0, PORTAL_NODE))
    fields = {"patient_id": patient_id, "body": body, "author": p.name,
              "created_at": now.isoformat(timespec="seconds")}
    with write_transaction(session, p.installation_id) as inst:
        inst.last_seq += 1
        log = RecordLog(inst.id)
        log.put(RecordState("note"), note_id, fields, dict.fromkeys(fields, hlc),
                dict.fromkeys(fields), seq=inst.last_seq, origin_node=PORTAL_NODE, now=now)
        log.write(session.connection())
    audit.record(session, actor=p.actor, action="note", installation_id=p.installation_id,
                 target=patient_id, address=address)
    return note_id
