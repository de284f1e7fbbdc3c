"""Dissolving an institution (seed 000): an administrator reads and agrees to the
notice, picks one of the institution's administrator accounts, types the one-time code
sent to its address, and confirms. The institution is then dissolved in 72 hours by a
job (cloud.institutions.dissolution_job); until then any administrator can revoke it.

From the moment it is asked until it is revoked, and for good once it is carried out,
`guard` refuses every operation of the institution except revoking: creating or
receiving cases, adding members, connections, patient management. The refusal's reason
is shown to people as it is. Every step is audited (never a code).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from app.core.ids import new_id
from cloud import audit
from cloud.config import Settings
from cloud.crud import Refused
from cloud.export import seal
from cloud.export.codes import CodeSender, SendError, new_code
from cloud.export.models import MemberContact
from cloud.institutions.dissolution_models import (
    DONE,
    PENDING,
    REVOKED,
    Dissolution,
    DissolutionCode,
    LabContact,
)
from cloud.institutions.models import ADMIN_ROLE, CLINIC, Institution, LabMember
from cloud.models import Installation, Record
from cloud.portal import clock
from cloud.portal.models import ADMIN, aware

if TYPE_CHECKING:  # service calls guard: no import cycle at run time
    from cloud.institutions.service import Caller

WINDOW = dt.timedelta(hours=72)
CODE_TTL = dt.timedelta(minutes=10)
CODE_INTERVAL = dt.timedelta(seconds=60)
CODE_TRIES = 5
LOCKED = 423  # the institution is being (or was) dissolved
JOB_KIND = "institutions.dissolve"
ONLY_ADMINS = "Only an administrator of the institution can dissolve it or revoke that."


@dataclass(frozen=True, slots=True)
class Verifier:
    """An administrator account the code can go to: its key, name and masked address."""

    key: str
    name: str
    sent_to: str


@dataclass(frozen=True, slots=True)
class DissolutionView:
    state: str  # "", PENDING or DONE (a revoked one is "")
    dissolve_at: dt.datetime | None
    asked_by: str


def _kind(inst: Institution) -> str:
    return "clinic" if inst.type == CLINIC else "lab"


def when_text(at: dt.datetime) -> str:
    return aware(at).astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def current(session: Session, inst: Institution) -> Dissolution | None:
    """The institution's dissolution if one is pending or done (not a revoked one)."""
    row = session.get(Dissolution, inst.id)
    return row if row is not None and row.state in (PENDING, DONE) else None


def view_of(session: Session, inst: Institution) -> DissolutionView:
    row = current(session, inst)
    if row is None:
        return DissolutionView("", None, "")
    return DissolutionView(row.state, aware(row.dissolve_at), row.asked_by)


def reason(inst: Institution, row: Dissolution) -> str:
    kind = _kind(inst)
    if row.state == DONE:
        return (f"This {kind} was dissolved on {when_text(row.done_at or row.dissolve_at)}: "
                "its cases, connections, members and patients were deleted. Nothing more "
                f"can be done for the {kind}; the user accounts still sign in.")
    where = ("Practice ▸ Institution on a clinic PC" if inst.type == CLINIC else
             "the lab's Dissolution page of the portal")
    return (f"This {kind} is being dissolved: on {when_text(row.dissolve_at)} its cases, "
            "connections, members and patients will be deleted. Until then nothing can be "
            f"changed or sent. An administrator of the {kind} can revoke the dissolution "
            f"({where}).")


def guard(session: Session, *institutions: Institution | None) -> None:
    """The one check before any operation of an institution but revoking: refused,
    with the reason, while a dissolution is pending and after it was carried out."""
    for inst in institutions:
        if inst is None:
            continue
        row = current(session, inst)
        if row is not None:
            raise Refused(LOCKED, reason(inst, row))


def guard_installation(session: Session, installation_id: str) -> None:
    """`guard` for a practice installation's clinic (one that has none is not being
    dissolved)."""
    clinic = session.scalar(select(Institution).where(
        Institution.installation_id == installation_id))
    guard(session, clinic)


def refuse_if_dissolved(session: Session, installation_id: str) -> None:
    """Image uploads: refused once the clinic was dissolved (its PCs would otherwise fill
    the blob store with files nothing refers to), taken during the 72 hours (a PC gives
    up a refused file, and after a revoke it is wanted: its record waits in the outbox
    meanwhile, and a purge deletes it with the rest)."""
    clinic = session.scalar(select(Institution).where(
        Institution.installation_id == installation_id))
    row = current(session, clinic) if clinic is not None else None
    if clinic is not None and row is not None and row.state == DONE:
        raise Refused(LOCKED, reason(clinic, row))


def _user_name(session: Session, installation_id: str, user_id: str) -> str:
    rec = session.scalar(select(Record).where(
        Record.installation_id == installation_id, Record.entity == "user",
        Record.entity_id == user_id[:36]))
    if rec is None:
        return ""
    f = rec.fields
    if f.get("role") != "admin" or f.get("merged_into") or not f.get("active", True):
        return ""
    return str(f.get("display_name") or f.get("username") or "")


def mask(email: str) -> str:
    name, _, domain = email.partition("@")
    return f"{name[:1]}***@{domain}" if domain else "***"


def _contacts(session: Session, inst: Institution) -> list[tuple[Verifier, MemberContact]]:
    """The institution's administrator accounts with an address for codes: the
    practice's own administrator (its registered email) and the program users with the
    administrator role whose email was set in the Server window."""
    if inst.type != CLINIC or not inst.installation_id:
        return _lab_contacts(session, inst)
    iid = inst.installation_id
    found: list[tuple[Verifier, MemberContact]] = []
    installation = session.get(Installation, iid)
    if installation is not None and installation.email:
        found.append((Verifier(ADMIN, "Practice administrator", mask(installation.email)),
                      MemberContact(installation_id=iid, member=ADMIN,
                                    email=installation.email, mobile="")))
    for contact in session.scalars(select(MemberContact).where(
            MemberContact.installation_id == iid, MemberContact.member.like("user:%"))):
        name = _user_name(session, iid, contact.member.partition(":")[2])
        if name and (contact.email or contact.mobile):
            where = mask(contact.email) if contact.email else "*** " + contact.mobile[-3:]
            found.append((Verifier(contact.member, name, where), contact))
    return found


def _lab_contacts(session: Session, lab: Institution) -> list[tuple[Verifier, MemberContact]]:
    """The lab's administrators with an address set by the operator."""
    found: list[tuple[Verifier, MemberContact]] = []
    for member, contact in session.execute(select(LabMember, LabContact).join(
            LabContact, LabContact.member_id == LabMember.id).where(
            LabMember.institution_id == lab.id, LabMember.role == ADMIN_ROLE)
            .order_by(LabMember.name)):
        if contact.email or contact.mobile:
            where = mask(contact.email) if contact.email else "*** " + contact.mobile[-3:]
            found.append((Verifier(f"lab:{member.id}", member.name, where),
                          MemberContact(member=f"lab:{member.id}", email=contact.email,
                                        mobile=contact.mobile)))
    return found


def verifiers(session: Session, inst: Institution, caller: Caller) -> list[Verifier]:
    if not caller.is_admin:
        raise Refused(403, ONLY_ADMINS)
    guard(session, inst)
    return [v for v, _c in _contacts(session, inst)]


def _audit(session: Session, inst: Institution, caller: Caller, action: str,
           detail: str = "") -> None:
    audit.record(session, actor=caller.actor, action=action,
                 installation_id=inst.installation_id, target=inst.code,
                 address=caller.address, detail=detail)


def send_code(session: Session, settings: Settings, sender: CodeSender, inst: Institution,
              caller: Caller, account: str) -> tuple[str, str]:
    """A code to the chosen administrator account; (code id, where it went)."""
    if not caller.is_admin:
        raise Refused(403, ONLY_ADMINS)
    guard(session, inst)
    chosen = next((c for v, c in _contacts(session, inst) if v.key == account), None)
    if chosen is None:
        raise Refused(404, "Choose one of the institution's administrator accounts.")
    now = clock.now()
    latest = session.scalar(select(DissolutionCode.created_at).where(
        DissolutionCode.institution_id == inst.id, DissolutionCode.account == account)
        .order_by(DissolutionCode.created_at.desc()).limit(1))
    if latest is not None and now - aware(latest) < CODE_INTERVAL:
        raise Refused(429, "A code was sent a moment ago. Use it, or ask again in a minute.")
    code, code_id = new_code(), new_id()
    session.add(DissolutionCode(
        id=code_id, institution_id=inst.id, account=account, asked_by=caller.actor[:120],
        code_mac=seal.code_mac(settings, code_id, code), created_at=now,
        expires_at=now + CODE_TTL, attempts=0))
    session.commit()
    try:
        where = sender.send(chosen, code, inst.name)
    except SendError as exc:
        table = cast(Table, DissolutionCode.__table__)  # declared, typed as any FromClause
        session.execute(table.delete().where(DissolutionCode.id == code_id))
        session.commit()
        raise Refused(503, str(exc)) from None
    _audit(session, inst, caller, "dissolution_code_sent", f"to {account} ({where})")
    return code_id, where


def confirm(session: Session, settings: Settings, inst: Institution, caller: Caller,
            code_id: str, code: str) -> Dissolution:
    """The right code, in time and unused: the institution dissolves in 72 hours."""
    from cloud.jobs import enqueue

    if not caller.is_admin:
        raise Refused(403, ONLY_ADMINS)
    guard(session, inst)
    row = session.get(DissolutionCode, code_id[:36])
    if row is None or row.institution_id != inst.id:
        raise Refused(404, "This code request is not known. Ask for a new code.")
    now = clock.now()
    why = ("This code was already used." if row.used_at else
           "This code has expired. Ask for a new code." if aware(row.expires_at) <= now else
           "Too many wrong codes. Ask for a new code." if row.attempts >= CODE_TRIES else "")
    if not why and not seal.same(row.code_mac, seal.code_mac(settings, row.id, code.strip())):
        row.attempts += 1
        why = "The code is not right. Check the latest message and type it again."
    if why:
        session.commit()
        _audit(session, inst, caller, "dissolution_code_refused", why)
        raise Refused(422, why)
    row.used_at = now
    found = session.get(Dissolution, inst.id)
    if found is None:
        found = Dissolution(institution_id=inst.id)
        session.add(found)
    found.state, found.asked_by, found.verified_with = PENDING, caller.actor[:120], row.account
    found.asked_at, found.dissolve_at = now, now + WINDOW
    found.revoked_by, found.revoked_at, found.done_at = "", None, None
    enqueue(session, JOB_KIND, {"institution_id": inst.id}, run_at=found.dissolve_at,
            installation_id=inst.installation_id)
    session.commit()
    _audit(session, inst, caller, "dissolution_asked",
           f"verified with {row.account}; dissolves on {when_text(found.dissolve_at)}")
    return found


def revoke(session: Session, inst: Institution, caller: Caller) -> None:
    """Any administrator, within the 72 hours: everything works again as before."""
    if not caller.is_admin:
        raise Refused(403, ONLY_ADMINS)
    if session.in_transaction():
        session.commit()
    session.connection(execution_options={"sqlite_immediate": True})
    row = session.scalar(select(Dissolution).where(Dissolution.institution_id == inst.id)
                         .with_for_update().execution_options(populate_existing=True))
    if row is None or row.state != PENDING:
        session.rollback()
        raise Refused(409, "The dissolution was already carried out." if row is not None
                      and row.state == DONE else "No dissolution is pending.")
    row.state, row.revoked_by, row.revoked_at = REVOKED, caller.actor[:120], clock.now()
    session.commit()
    _audit(session, inst, caller, "dissolution_revoked",
           f"was to dissolve on {when_text(row.dissolve_at)}")
