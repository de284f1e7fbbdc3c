"""The move of a data migration, run as a job: all of it in one transaction of both
installations (or, for labs, of every clinic whose cases change lab), verified before
it commits. A failure or a process that dies part-way leaves both sides as they were.

A clinic's data is its practice installation's synced rows, scoped by installation. Each
patient-bound row is re-homed with the same id: the receiver's change log gets the row
whole (its fields with their own stamps, as if it had been pushed there), the sender's
a change that marks it deleted, so that its PCs see it leave; both through RecordLog,
the one way synced data is written. Images are content-addressed (SHA-256): the bytes
stay where they are and only the image rows move to the receiver. Practice settings
(program users, chairs, working hours) stay with the sender.

A lab holds no rows of its own: the cases clinics sent to it name it by its code. They
are handed to the receiving lab (each case's lab written as a change of its clinic,
which its PCs pull), and the receiving lab is connected to those clinics.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from app.core.hlc import Timestamp
from app.core.ids import new_id
from app.platform.rowcount import rowcount
from cloud import audit
from cloud.crud.record_log import RecordLog, RecordState
from cloud.institutions.migration import KIND, write_lock
from cloud.institutions.migration_models import (
    FAILED,
    RUNNING,
    SUCCEEDED,
    Migration,
    MovedRow,
)
from cloud.institutions.models import APPROVED, CLINIC, ConnectionRequest, Institution
from cloud.jobs import JobContext, handler
from cloud.models import Image, Installation, PatientAlias, Record
from cloud.portal import clock

log = logging.getLogger("cloud.institutions")

MIGRATION_NODE = "000000000000000d"  # the origin node of the changes a migration writes
# Parents first: the receiver's PCs apply pages in order, and a visit or an image row
# needs its patient (and a payment its agreement) already there.
MOVED_ENTITIES = ("patient", "agreement", "visit", "appointment", "record_image",
                  "scan_ticket", "lab_case", "payment", "note", "patient_merge", "merge_move")
CHUNK = 500  # rows written to the database at a time, all in the one transaction
STOPPED = ("The move stopped before it finished, and nothing was moved. Ask the "
           "receiving institution for a new verification code and start again.")


class MoveRefused(Exception):
    """The move can not be made; the reason is for people."""


def _lock(session: Session, installation_ids: Iterable[str]) -> dict[str, Installation]:
    """The installations' rows, locked until commit (in one order, so that two writers
    never wait on each other): as cloud.db.write_transaction does for one."""
    write_lock(session)
    rows = session.scalars(select(Installation).where(
        Installation.id.in_(sorted(set(installation_ids)))).order_by(Installation.id)
        .with_for_update().execution_options(populate_existing=True))
    return {i.id: i for i in rows}


def _after(stamp: str | None, now_ms: int) -> str:
    """A stamp later than `stamp` and no earlier than now: it wins over what PCs hold."""
    ts = Timestamp(now_ms, 0, MIGRATION_NODE)
    if stamp:
        old = Timestamp.parse(stamp)
        if (old.wall_ms, old.counter) >= (ts.wall_ms, ts.counter):
            ts = Timestamp(old.wall_ms, old.counter + 1, MIGRATION_NODE)
    return str(ts)


def _move_chunk(session: Session, rows: Sequence[Record], src: Installation,
                dst: Installation, migration_id: str) -> None:
    """Re-home `rows`: the receiver's change log gets each whole, the sender's a
    deletion. Written at once (the transaction is still open)."""
    now = clock.now()
    now_ms = time.time_ns() // 1_000_000
    ids = [r.entity_id for r in rows]
    before = {m.entity_id: m.hlc for m in session.scalars(
        select(MovedRow).where(MovedRow.entity_id.in_(ids)))}
    leaving, arriving = RecordLog(src.id), RecordLog(dst.id)
    moves: list[dict[str, str]] = []
    for rec in rows:
        held = rec.stamps.get("deleted")
        gone = _after(max(held or "", before.get(rec.entity_id, "")) or None, now_ms)
        src.last_seq += 1
        leaving.put(RecordState.of(rec), rec.entity_id, {"deleted": True},
                    {"deleted": gone}, {"deleted": held}, seq=src.last_seq,
                    origin_node=MIGRATION_NODE, now=now)
        # Its deletion stamped past the one above: a row moved back to where it was
        # comes back on those PCs, which still hold that deletion.
        fields = {"deleted": False, **rec.fields}
        stamps = {**rec.stamps, "deleted": _after(gone, now_ms)}
        dst.last_seq += 1
        arriving.put(RecordState(rec.entity, stored=True), rec.entity_id, fields, stamps,
                     dict(rec.bases), seq=dst.last_seq, origin_node=MIGRATION_NODE, now=now)
        moves.append({"entity_id": rec.entity_id, "from_installation_id": src.id,
                      "to_installation_id": dst.id, "migration_id": migration_id,
                      "hlc": gone})
    conn = session.connection()
    leaving.write(conn)
    arriving.write(conn)  # last: the record is the receiver's, as it was before
    conn.execute(delete(MovedRow).where(MovedRow.entity_id.in_(ids)))
    conn.execute(insert(MovedRow), moves)


def _order(rec: Record) -> tuple[int, str]:
    return MOVED_ENTITIES.index(rec.entity), rec.entity_id


def move_clinic(session: Session, migration: Migration, source: Institution,
                target: Institution) -> tuple[int, int]:
    """Every patient-bound row and image of the sending practice, to the receiving one;
    (rows, images) moved."""
    if not source.installation_id or not target.installation_id:
        raise MoveRefused("One of the clinics has no practice connected to the server.")
    locked = _lock(session, (source.installation_id, target.installation_id))
    src, dst = locked[source.installation_id], locked[target.installation_id]
    rows = sorted(session.scalars(select(Record).where(
        Record.installation_id == src.id, Record.entity.in_(MOVED_ENTITIES))), key=_order)
    for i in range(0, len(rows), CHUNK):
        _move_chunk(session, rows[i:i + CHUNK], src, dst, migration.id)
    patients = [r.entity_id for r in rows if r.entity == "patient"]
    images = 0
    for i in range(0, len(patients), CHUNK):
        chunk = patients[i:i + CHUNK]
        images += rowcount(session.execute(update(Image).where(
            Image.installation_id == src.id, Image.patient_id.in_(chunk))
            .values(installation_id=dst.id)
            .execution_options(synchronize_session=False)))
        session.execute(update(PatientAlias).where(
            PatientAlias.installation_id == src.id, PatientAlias.kept_id.in_(chunk))
            .values(installation_id=dst.id).execution_options(synchronize_session=False))
    _verify(session, src.id, dst.id, [r.entity_id for r in rows])
    return len(rows), images


def _verify(session: Session, src_id: str, dst_id: str, ids: list[str]) -> None:
    """Before anything commits: every row is the receiver's, none is left behind."""
    arrived = 0
    for i in range(0, len(ids), CHUNK):
        arrived += session.scalar(select(func.count()).select_from(Record).where(
            Record.entity_id.in_(ids[i:i + CHUNK]), Record.installation_id == dst_id)) or 0
    left = session.scalar(select(func.count()).select_from(Record).where(
        Record.installation_id == src_id, Record.entity.in_(MOVED_ENTITIES))) or 0
    if arrived != len(ids) or left:
        raise MoveRefused(STOPPED)


def move_lab(session: Session, source: Institution, target: Institution) -> tuple[int, int]:
    """The cases sent to the sending lab become the receiving lab's; it is connected to
    their clinics. (cases moved, 0)."""
    clinics = {c.installation_id: c for c in session.scalars(select(Institution).join(
        ConnectionRequest, ConnectionRequest.clinic_id == Institution.id).where(
        ConnectionRequest.lab_id == source.id, ConnectionRequest.state == APPROVED))
        if c.installation_id}
    if not clinics:
        return 0, 0
    locked = _lock(session, clinics)
    now = clock.now()
    now_ms = time.time_ns() // 1_000_000
    moved = 0
    for inst_id, clinic in sorted(clinics.items()):
        inst = locked[inst_id]
        cases = [r for r in session.scalars(select(Record).where(
            Record.installation_id == inst_id, Record.entity == "lab_case"))
            if str(r.fields.get("lab_code") or "").upper() == source.code.upper()]
        log_ = RecordLog(inst_id)
        for rec in cases:
            inst.last_seq += 1
            values = {"lab_code": target.code, "lab_name": target.name}
            log_.put(RecordState.of(rec), rec.entity_id, values,
                     {k: _after(rec.stamps.get(k), now_ms) for k in values},
                     {k: rec.stamps.get(k) for k in values}, seq=inst.last_seq,
                     origin_node=MIGRATION_NODE, now=now)
        log_.write(session.connection())
        moved += len(cases)
        linked = session.scalar(select(ConnectionRequest).where(
            ConnectionRequest.lab_id == target.id, ConnectionRequest.clinic_id == clinic.id))
        if linked is None:
            session.add(ConnectionRequest(
                id=new_id(), lab_id=target.id, clinic_id=clinic.id, state=APPROVED,
                requested_by="data migration", decided_by="data migration",
                created_at=now, decided_at=now))
        elif linked.state != APPROVED:
            linked.state, linked.decided_by, linked.decided_at = APPROVED, "data migration", now
    session.flush()
    return moved, 0


def _finish(session: Session, migration_id: str, status: str, reason: str = "",
            counts: tuple[int, int] = (0, 0)) -> Migration:
    write_lock(session)
    m = session.get(Migration, migration_id, populate_existing=True)
    assert m is not None
    m.status, m.reason = status, reason[:500]
    m.moved, m.images = counts
    if status in (SUCCEEDED, FAILED):
        m.finished_at = clock.now()
    session.commit()
    return m


def _run(session: Session, migration_id: str) -> tuple[int, int]:
    """The move itself, committed whole or not at all."""
    m = session.get(Migration, migration_id, populate_existing=True)
    assert m is not None
    source = session.get(Institution, m.source_id)
    target = session.get(Institution, m.target_id)
    if source is None or target is None:
        raise MoveRefused("One of the institutions is not there any more.")
    counts = (move_clinic(session, m, source, target) if source.type == CLINIC
              else move_lab(session, source, target))
    m.status, m.moved, m.images, m.finished_at = SUCCEEDED, *counts, clock.now()
    session.commit()
    return counts


@handler(KIND)
def migrate(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Run once more after a process died mid-way: nothing of that attempt committed."""
    migration_id = str(payload["migration"])
    with ctx.sessionmaker() as session:
        m = session.get(Migration, migration_id)
        if m is None or m.status in (SUCCEEDED, FAILED):
            return
        _finish(session, migration_id, RUNNING)
        try:
            counts = _run(session, migration_id)
        except MoveRefused as exc:
            session.rollback()
            m = _finish(session, migration_id, FAILED, str(exc))
        except Exception:
            session.rollback()
            log.exception("data migration %s stopped", migration_id)
            m = _finish(session, migration_id, FAILED, STOPPED)
        else:
            m = _finish(session, migration_id, SUCCEEDED, "", counts)
        source = session.get(Institution, m.source_id)
        audit.record(session, actor=m.requested_by,
                     action="migration_succeeded" if m.status == SUCCEEDED
                     else "migration_failed",
                     installation_id=source.installation_id if source else None,
                     target=m.id, detail=(f"{m.moved} rows, {m.images} images moved"
                                          if m.status == SUCCEEDED else m.reason))
