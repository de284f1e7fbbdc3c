"""Data migration between two institutions of the same type (seed 000): the receiving
institution's administrator generates a verification code (shown once, single use,
valid for a day; only its hash is kept), the sending administrator names the receiver
and enters the code, and the move itself runs as a job (cloud.institutions.migration_job)
whose status both sides read.

Clinic to clinic or lab to lab only, and never across regions. Every step is audited.
Messages in Refused are shown to people as they are.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from app.core.ids import new_id
from cloud import audit, security
from cloud.crud import Refused
from cloud.institutions import dissolution
from cloud.institutions.migration_models import (
    FAILED,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    Migration,
    MigrationCode,
)
from cloud.institutions.models import CLINIC, Institution
from cloud.institutions.service import Caller
from cloud.jobs import enqueue
from cloud.portal import clock, throttle

KIND = "institutions.migrate"
CODE_LIFETIME = dt.timedelta(hours=24)
# No 0/O, 1/I/L: the code is read out over the phone.
_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
STATUS_WORDS = {QUEUED: "Queued", RUNNING: "Running", SUCCEEDED: "Succeeded",
                FAILED: "Failed"}
ONLY_ADMINS = "Only an administrator of the institution moves its data."


@dataclass(frozen=True, slots=True)
class MigrationRow:
    id: str
    direction: str  # "sent" or "received", as the asking institution sees it
    other_code: str
    other_name: str
    status: str
    reason: str
    moved: int
    images: int
    requested_by: str
    created_at: dt.datetime
    finished_at: dt.datetime | None

    @property
    def status_words(self) -> str:
        return STATUS_WORDS.get(self.status, self.status)


def _aware(when: dt.datetime) -> dt.datetime:
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _normal(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def write_lock(session: Session) -> None:
    """Start a writing transaction that holds the write lock from its first read (on
    SQLite a read turned into a write fails when another process wrote meanwhile)."""
    if session.in_transaction():
        session.commit()
    session.connection(execution_options={"sqlite_immediate": True})


def _kind(inst: Institution) -> str:
    return "clinic" if inst.type == CLINIC else "lab"


def generate_code(session: Session, inst: Institution, caller: Caller) -> tuple[str, dt.datetime]:
    """A new verification code for institutions that will send their data to `inst`,
    and when it expires. An older code not used yet stops working."""
    if not caller.is_admin:
        raise Refused(403, ONLY_ADMINS)
    dissolution.guard(session, inst)
    now = clock.now()
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(10))
    write_lock(session)
    session.execute(update(MigrationCode).where(
        MigrationCode.institution_id == inst.id, MigrationCode.used_at.is_(None),
        MigrationCode.expires_at > now).values(expires_at=now))
    expires = now + CODE_LIFETIME
    session.add(MigrationCode(id=new_id(), institution_id=inst.id,
                              code_hash=security.hash_token(_normal(raw)),
                              created_by=caller.actor, created_at=now, expires_at=expires))
    session.commit()
    audit.record(session, actor=caller.actor, action="migration_code_generated",
                 installation_id=inst.installation_id, target=inst.code,
                 address=caller.address, detail=f"valid until {expires:%Y-%m-%d %H:%M} UTC")
    return f"{raw[:5]}-{raw[5:]}", expires


def find_receiver(session: Session, source: Institution, code_or_name: str) -> Institution:
    """The receiving institution by its institution code or exact name, of any type:
    the type is checked after, so that the answer can say why it is refused."""
    text = code_or_name.strip()[:120]
    if not text:
        raise Refused(422, "Enter the receiving institution's code or its name.")
    found = session.scalar(select(Institution).where(
        func.upper(Institution.code) == text.upper()))
    if found is None:
        named = list(session.scalars(select(Institution).where(
            func.lower(Institution.name) == text.lower(), Institution.type == source.type)))
        if len(named) > 1:
            raise Refused(409, f"Several {_kind(source)}s have this name. Ask the receiving "
                               f"{_kind(source)} for its institution code and enter that.")
        found = named[0] if named else None
    if found is None:
        raise Refused(404, "No institution has this code or name.")
    if found.id == source.id:
        raise Refused(422, "Data can not be moved to the same institution.")
    if found.type != source.type:
        raise Refused(422, f"{found.name} is a {_kind(found)}: data moves only between "
                           f"institutions of the same type ({_kind(source)} to "
                           f"{_kind(source)}).")
    if source.region and found.region and source.region.upper() != found.region.upper():
        raise Refused(422, f"{found.name} is in another region ({found.region}, this "
                           f"{_kind(source)} is in {source.region}): moving data across "
                           "borders is not supported.")
    return found


def _check_code(session: Session, receiver: Institution, code: str, now: dt.datetime
                ) -> MigrationCode:
    row = session.scalar(select(MigrationCode).where(
        MigrationCode.code_hash == security.hash_token(_normal(code)),
        MigrationCode.institution_id == receiver.id))
    ask = f"Ask {receiver.name} for a new verification code."
    if row is None:
        raise Refused(422, f"The verification code is not right. Check it with "
                           f"{receiver.name} and type it again.")
    if row.used_at is not None:
        raise Refused(422, f"This verification code was used already. {ask}")
    if _aware(row.expires_at) <= now:
        raise Refused(422, f"This verification code has expired (a code is valid for "
                           f"24 hours). {ask}")
    return row


def start(session: Session, source: Institution, receiver_text: str, code: str,
          caller: Caller) -> Migration:
    """Check the receiver and the code, use the code up, and queue the move."""
    if not caller.is_admin:
        raise Refused(403, ONLY_ADMINS)
    receiver = find_receiver(session, source, receiver_text)
    dissolution.guard(session, source, receiver)
    keys = [f"migration:{source.id}"]
    throttle.refuse_if_slowed(session, keys)
    now = clock.now()
    write_lock(session)
    # Checked under the write lock, so that two starts at once can not both pass.
    busy = session.scalar(select(Migration.id).where(
        or_(Migration.source_id == source.id, Migration.target_id == source.id,
            Migration.source_id == receiver.id, Migration.target_id == receiver.id),
        Migration.status.in_((QUEUED, RUNNING))))
    if busy is not None:
        session.rollback()
        raise Refused(409, "A data migration of one of these institutions is under way. "
                           "Wait until it ends, then try again.")
    try:
        row = _check_code(session, receiver, code, now)
    except Refused as exc:
        session.rollback()
        if "not right" in exc.reason:
            throttle.failed(session, keys)
        audit.record(session, actor=caller.actor, action="migration_refused",
                     installation_id=source.installation_id, target=receiver.code,
                     address=caller.address, detail=exc.reason)
        raise
    row.used_at = now
    migration = Migration(id=new_id(), source_id=source.id, target_id=receiver.id,
                          status=QUEUED, reason="", requested_by=caller.actor, moved=0,
                          images=0, created_at=now)
    session.add(migration)
    enqueue(session, KIND, {"migration": migration.id}, max_attempts=3,
            installation_id=source.installation_id)
    session.commit()
    audit.record(session, actor=caller.actor, action="migration_started",
                 installation_id=source.installation_id, target=migration.id,
                 address=caller.address, detail=f"from {source.code} to {receiver.code}")
    return migration


def migrations_of(session: Session, inst: Institution) -> list[MigrationRow]:
    """The migrations this institution sent or received, newest first."""
    out: list[MigrationRow] = []
    for m in session.scalars(select(Migration).where(
            or_(Migration.source_id == inst.id, Migration.target_id == inst.id))
            .order_by(Migration.created_at.desc()).limit(50)
            .execution_options(populate_existing=True)):
        sent = m.source_id == inst.id
        other = session.get(Institution, m.target_id if sent else m.source_id)
        out.append(MigrationRow(m.id, "sent" if sent else "received",
                                other.code if other else "", other.name if other else "",
                                m.status, m.reason, m.moved, m.images, m.requested_by,
                                m.created_at, m.finished_at))
    return out
