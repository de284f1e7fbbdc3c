"""What institutions do: a practice installation's clinic (made on first need, so that
installations from before institutions keep working), labs and their members, and
connection requests from a lab to a clinic, approved by the clinic's administrator or,
with "Automatic review for connection creation" on, on arrival.

Only administrators manage connections; every change is audited. Messages in Refused
are shown to people as they are.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.ids import new_id
from cloud import audit, security
from cloud.crud import Refused
from cloud.institutions.dissolution import guard
from cloud.institutions.models import (
    ADMIN_ROLE,
    APPROVED,
    CLINIC,
    LAB,
    PENDING,
    REFUSED,
    ConnectionRequest,
    Institution,
    LabMember,
)
from cloud.models import Installation, Record
from cloud.portal import clock

AUTOMATIC = "automatic review"
ONLY_ADMINS = "Only an administrator of the institution manages its connections."


@dataclass(frozen=True, slots=True)
class Caller:
    """Who asks, as the audit log names him, and whether he is an administrator."""

    actor: str
    is_admin: bool
    address: str = ""


@dataclass(frozen=True, slots=True)
class RequestRow:
    id: str
    state: str
    other_code: str
    other_name: str
    requested_by: str
    decided_by: str
    created_at: dt.datetime
    decided_at: dt.datetime | None


def _new_code(session: Session, prefix: str) -> str:
    while True:
        code = prefix + "".join(secrets.choice("0123456789") for _ in range(7))
        if session.scalar(select(Institution.id).where(Institution.code == code)) is None:
            return code


def clinic_of(session: Session, installation_id: str, name: str = "") -> Institution:
    """The clinic of a practice installation, made the first time it is needed (named
    after the practice when the PC that asks tells its name)."""
    clinic = session.scalar(select(Institution).where(
        Institution.installation_id == installation_id))
    if clinic is not None:
        return clinic
    if session.get(Installation, installation_id) is None:
        raise Refused(404, "unknown installation")
    clinic = Institution(id=new_id(), code=_new_code(session, "C"), type=CLINIC,
                         name=name.strip()[:120] or f"Clinic {installation_id}", region="",
                         auto_review=False, installation_id=installation_id)
    session.add(clinic)
    session.commit()
    return clinic


def program_user(session: Session, installation_id: str, user_id: str,
                 address: str = "") -> Caller:
    """A program user of the practice as the clinic knows him (his role arrives with
    the synced user)."""
    rec = session.scalar(select(Record).where(
        Record.installation_id == installation_id, Record.entity == "user",
        Record.entity_id == user_id[:36]))
    if rec is None or rec.fields.get("merged_into") or not rec.fields.get("active", True):
        raise Refused(404, "Your user is not on the server yet. Synchronize first "
                           "(Sync ▸ Synchronize now), then try again.")
    name = str(rec.fields.get("username") or rec.entity_id)
    return Caller(f"user:{name}", rec.fields.get("role") == "admin", address)


def create_lab(session: Session, *, name: str, region: str, admin_name: str,
               admin_password: str) -> tuple[Institution, LabMember]:
    lab = Institution(id=new_id(), code=_new_code(session, "L"), type=LAB, name=name.strip(),
                      region=region.strip().upper(), auto_review=False)
    session.add(lab)
    session.flush()
    admin = add_lab_member(session, lab, admin_name, admin_password, ADMIN_ROLE)
    return lab, admin


def add_lab_member(session: Session, lab: Institution, name: str, password: str,
                   role: str) -> LabMember:
    guard(session, lab)
    member = LabMember(id=new_id(), institution_id=lab.id, name=name.strip(), role=role,
                       password_hash=security.hash_password(password))
    session.add(member)
    session.commit()
    audit.record(session, actor="operator", action="lab_member_added",
                 target=lab.code, detail=f"{member.name} ({role})")
    return member


def find_clinic(session: Session, code_or_name: str) -> Institution:
    """A clinic by its institution code or, failing that, by its exact name."""
    text = code_or_name.strip()[:120]
    if not text:
        raise Refused(422, "Enter the clinic's institution code or its name.")
    found = session.scalar(select(Institution).where(
        Institution.type == CLINIC, func.upper(Institution.code) == text.upper()))
    if found is not None:
        return found
    named = list(session.scalars(select(Institution).where(
        Institution.type == CLINIC, func.lower(Institution.name) == text.lower())))
    if len(named) > 1:
        raise Refused(409, "Several clinics have this name. Ask the clinic for its "
                           "institution code and enter that.")
    if not named:
        raise Refused(404, "No clinic has this institution code or name.")
    return named[0]


def request_connection(session: Session, lab: Institution, clinic_text: str,
                       caller: Caller) -> ConnectionRequest:
    if not caller.is_admin:
        raise Refused(403, ONLY_ADMINS)
    clinic = find_clinic(session, clinic_text)
    guard(session, lab, clinic)
    live = session.scalar(select(ConnectionRequest).where(
        ConnectionRequest.lab_id == lab.id, ConnectionRequest.clinic_id == clinic.id,
        ConnectionRequest.state.in_((PENDING, APPROVED))))
    if live is not None:
        raise Refused(409, "The lab is already connected to this clinic." if
                      live.state == APPROVED else
                      "A request to this clinic is already waiting for its answer.")
    req = ConnectionRequest(id=new_id(), lab_id=lab.id, clinic_id=clinic.id, state=PENDING,
                            requested_by=caller.actor, decided_by="")
    if clinic.auto_review:
        req.state, req.decided_by, req.decided_at = APPROVED, AUTOMATIC, clock.now()
    session.add(req)
    session.commit()
    audit.record(session, actor=caller.actor, action="connection_requested",
                 installation_id=clinic.installation_id, target=req.id, address=caller.address,
                 detail=f"lab {lab.code} to clinic {clinic.code}")
    if req.state == APPROVED:
        audit.record(session, actor=AUTOMATIC, action="connection_approved",
                     installation_id=clinic.installation_id, target=req.id,
                     detail=f"lab {lab.code} to clinic {clinic.code}")
    return req


def decide(session: Session, clinic: Institution, request_id: str, approve: bool,
           caller: Caller) -> ConnectionRequest:
    if not caller.is_admin:
        raise Refused(403, ONLY_ADMINS)
    guard(session, clinic)
    req = session.get(ConnectionRequest, request_id[:36])
    if req is None or req.clinic_id != clinic.id:
        raise Refused(404, "This connection request is not there any more.")
    if req.state != PENDING:
        raise Refused(409, "This request was already answered.")
    req.state = APPROVED if approve else REFUSED
    req.decided_by, req.decided_at = caller.actor, clock.now()
    session.commit()
    audit.record(session, actor=caller.actor,
                 action="connection_approved" if approve else "connection_refused",
                 installation_id=clinic.installation_id, target=req.id,
                 address=caller.address)
    return req


def set_auto_review(session: Session, clinic: Institution, on: bool, caller: Caller) -> None:
    if not caller.is_admin:
        raise Refused(403, "Only an administrator of the institution changes its settings.")
    guard(session, clinic)
    clinic.auto_review = on
    session.commit()
    audit.record(session, actor=caller.actor, action="institution_settings",
                 installation_id=clinic.installation_id, target=clinic.code,
                 address=caller.address,
                 detail=f"automatic review for connection creation {'on' if on else 'off'}")


def requests_of(session: Session, inst: Institution, caller: Caller) -> list[RequestRow]:
    """The institution's connection requests, newest first: every one for an
    administrator; for an ordinary member only the connections made."""
    mine = ConnectionRequest.clinic_id if inst.type == CLINIC else ConnectionRequest.lab_id
    other = ConnectionRequest.lab_id if inst.type == CLINIC else ConnectionRequest.clinic_id
    query = select(ConnectionRequest, Institution).join(Institution, Institution.id == other) \
        .where(mine == inst.id).order_by(ConnectionRequest.created_at.desc())
    if not caller.is_admin:
        query = query.where(ConnectionRequest.state == APPROVED)
    return [RequestRow(r.id, r.state, i.code, i.name, r.requested_by, r.decided_by,
                       r.created_at, r.decided_at) for r, i in session.execute(query)]


def connected(session: Session, lab_id: str, clinic_id: str) -> bool:
    return session.scalar(select(ConnectionRequest.id).where(
        ConnectionRequest.lab_id == lab_id, ConnectionRequest.clinic_id == clinic_id,
        ConnectionRequest.state == APPROVED)) is not None


def lab_member(session: Session, lab_code: str, name: str, password: str
               ) -> tuple[Institution, LabMember] | None:
    """The lab member these sign-in details name, or None (after the same hashing)."""
    row = session.execute(select(Institution, LabMember).join(
        LabMember, LabMember.institution_id == Institution.id).where(
        Institution.type == LAB, func.upper(Institution.code) == lab_code.strip().upper()[:12],
        LabMember.name == name.strip()[:64])).first()
    stored = row[1].password_hash if row else None
    ok = security.verify_password(stored or _dummy(), password) and row is not None
    return (row[0], row[1]) if ok and row else None


_DUMMY: list[str] = []


def _dummy() -> str:
    if not _DUMMY:
        _DUMMY.append(security.hash_password("not a password of anyone"))
    return _DUMMY[0]
