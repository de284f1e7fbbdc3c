"""Portal passwords, server accounts, shares and patient passwords of an installation.

Called from the device-authenticated API (the desktop's Server window). Passwords are
kept as argon2id hashes only; nothing here logs or returns one.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.ids import new_id
from cloud import mail_jobs, mailer, passwords, security, sessions
from cloud.config import Settings
from cloud.crud import Refused
from cloud.models import Installation, Record
from cloud.portal import clock
from cloud.portal.models import (
    ADMIN,
    Account,
    AccountSetup,
    AuditEntry,
    PatientSecret,
    Share,
    aware,
)

log = logging.getLogger("cloud.accounts")

PasswordKind = Literal["login", "admin", "general"]
MIN_PASSWORD = 12  # login, admin and account passwords
MIN_PATIENT_PASSWORD = 8  # a patient's own and the general password
MAX_PASSWORD = 128
SETUP_VALID = dt.timedelta(hours=72)


@dataclass(frozen=True, slots=True)
class AccountInfo:
    id: str
    name: str
    has_password: bool
    expires_at: dt.datetime | None
    expired: bool
    whole_database: bool
    patient_ids: tuple[str, ...]


def _check_password(password: str, minimum: int) -> None:
    if not (minimum <= len(password) <= MAX_PASSWORD):
        raise Refused(422, f"a password has {minimum} to {MAX_PASSWORD} characters")
    passwords.refuse_common(password)


def _inst(session: Session, installation_id: str) -> Installation:
    inst = session.get(Installation, installation_id)
    if inst is None:
        raise Refused(404, "unknown installation")
    return inst


def settings_of(session: Session, *, installation_id: str) -> dict[str, object]:
    inst = _inst(session, installation_id)
    return {"installation_id": inst.id, "login_password_set": bool(inst.login_password_hash),
            "admin_password_set": bool(inst.admin_password_hash),
            "general_password_set": bool(inst.general_password_hash),
            "general_password_enabled": inst.general_password_enabled,
            "patient_pages_enabled": inst.patient_pages_enabled,
            "time_zone": inst.time_zone,
            "patient_images_enabled": inst.patient_images_enabled,
            "failed_attempts_24h": _failed_attempts(session, inst.id)}


FAILED_ACTIONS = ("login_failed", "patient_login_failed", "upload_password_failed")


def _failed_attempts(session: Session, installation_id: str) -> int:
    return int(session.execute(select(func.count(AuditEntry.id)).where(
        AuditEntry.installation_id == installation_id,
        AuditEntry.action.in_(FAILED_ACTIONS),
        AuditEntry.at > clock.now() - dt.timedelta(hours=24))).scalar_one())


def set_password(session: Session, *, installation_id: str, kind: PasswordKind,
                 password: str) -> None:
    """Set or change the login, admin or general password."""
    _check_password(password, MIN_PATIENT_PASSWORD if kind == "general" else MIN_PASSWORD)
    inst = _inst(session, installation_id)
    setattr(inst, f"{kind}_password_hash", security.hash_password(password))
    if kind in ("admin", "login"):
        sessions.end_for_installation(session, installation_id, "admin")
    if kind == "login":
        sessions.end_for_installation(session, installation_id, "account")
    if kind == "general":
        sessions.end_for_general_password(session, installation_id)
    session.commit()


def update_switches(session: Session, *, installation_id: str,
                    general_password_enabled: bool | None,
                    patient_pages_enabled: bool | None,
                    time_zone: str | None = None,
                    patient_images_enabled: bool | None = None) -> None:
    inst = _inst(session, installation_id)
    if patient_images_enabled is not None:
        inst.patient_images_enabled = patient_images_enabled
    if time_zone is not None:
        inst.time_zone = time_zone
    if general_password_enabled is not None:
        inst.general_password_enabled = general_password_enabled
        if not general_password_enabled:
            sessions.end_for_general_password(session, installation_id)
    if patient_pages_enabled is not None:
        inst.patient_pages_enabled = patient_pages_enabled
        if not patient_pages_enabled:
            sessions.end_for_installation(session, installation_id, "patient")
    session.commit()


def _account(session: Session, installation_id: str, account_id: str) -> Account:
    account = session.get(Account, account_id)
    if account is None or account.installation_id != installation_id:
        raise Refused(404, "unknown account")
    return account


def list_accounts(session: Session, *, installation_id: str) -> list[AccountInfo]:
    now = clock.now()
    shares: dict[str, list[str]] = {}
    for account_id, patient_id in session.execute(
        select(Share.account_id, Share.patient_id).where(Share.installation_id == installation_id)
    ):
        shares.setdefault(account_id, []).append(patient_id)
    out = []
    for a in session.scalars(select(Account).where(Account.installation_id == installation_id)
                             .order_by(Account.name)):
        mine = shares.get(a.id, [])
        expires = aware(a.expires_at) if a.expires_at else None
        out.append(AccountInfo(a.id, a.name, bool(a.password_hash), expires,
                               expires is not None and expires <= now, "" in mine,
                               tuple(sorted(p for p in mine if p))))
    return out


def create_account(session: Session, *, installation_id: str, name: str,
                   password: str | None, expires_at: dt.datetime | None) -> Account:
    name = name.strip()
    if not (1 <= len(name) <= 64) or any(c.isspace() for c in name):
        raise Refused(422, "a user name has 1 to 64 characters and no spaces")
    if name.lower() == ADMIN:
        raise Refused(409, "the admin account is built in")
    from cloud.institutions.dissolution import guard_installation

    guard_installation(session, installation_id)
    if password is not None:
        _check_password(password, MIN_PASSWORD)
    _inst(session, installation_id)
    account = Account(id=new_id(), installation_id=installation_id, name=name,
                      password_hash=security.hash_password(password) if password else None,
                      expires_at=expires_at, created_at=clock.now())
    session.add(account)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Refused(409, "an account with this name exists") from None
    return account


def delete_account(session: Session, *, installation_id: str, account_id: str) -> str:
    account = _account(session, installation_id, account_id)
    name = account.name
    sessions.end_for_account(session, account_id)
    session.execute(delete(Share).where(Share.account_id == account_id))
    session.execute(delete(AccountSetup).where(AccountSetup.account_id == account_id))
    session.delete(account)
    session.commit()
    return name


def set_account_password(session: Session, *, installation_id: str, account_id: str,
                         password: str) -> Account:
    _check_password(password, MIN_PASSWORD)
    account = _account(session, installation_id, account_id)
    account.password_hash = security.hash_password(password)
    sessions.end_for_account(session, account_id)
    session.commit()
    return account


def set_expiry(session: Session, *, installation_id: str, account_id: str,
               expires_at: dt.datetime | None) -> Account:
    account = _account(session, installation_id, account_id)
    account.expires_at = expires_at
    if expires_at is not None and expires_at <= clock.now():
        sessions.end_for_account(session, account_id)
    session.commit()
    return account


def set_shares(session: Session, *, installation_id: str, account_id: str,
               whole_database: bool, patient_ids: Iterable[str]) -> None:
    """Replace what an account sees; its sessions end when anything was taken away."""
    _account(session, installation_id, account_id)
    wanted = {""} if whole_database else set()
    wanted |= {p for p in patient_ids if p}
    known = set(session.scalars(select(Record.entity_id).where(
        Record.installation_id == installation_id, Record.entity == "patient",
        Record.entity_id.in_(sorted(wanted - {""})))))
    if unknown := (wanted - {""}) - known:
        raise Refused(404, f"unknown patient: {sorted(unknown)[0]}")
    current = set(session.scalars(select(Share.patient_id).where(
        Share.account_id == account_id)))
    if gone := current - wanted:
        session.execute(delete(Share).where(Share.account_id == account_id,
                                            Share.patient_id.in_(sorted(gone))))
        sessions.end_for_account(session, account_id)
    for pid in sorted(wanted - current):
        session.add(Share(installation_id=installation_id, account_id=account_id,
                          patient_id=pid, created_at=clock.now()))
    session.commit()


def set_patient_password(session: Session, *, installation_id: str, patient_id: str,
                         password: str | None) -> None:
    """A patient's own password for his page; None removes it."""
    rec = session.get(Record, patient_id)
    if rec is None or rec.installation_id != installation_id or rec.entity != "patient":
        raise Refused(404, "unknown patient")
    row = session.get(PatientSecret, patient_id)
    if password is None:
        if row is not None:
            session.delete(row)
    else:
        _check_password(password, MIN_PATIENT_PASSWORD)
        if row is None:
            row = PatientSecret(patient_id=patient_id, installation_id=installation_id,
                                password_hash="")
            session.add(row)
        row.password_hash = security.hash_password(password)
    sessions.end_for_patient(session, installation_id, patient_id)
    session.commit()


def setup_link(session: Session, *, settings: Settings, installation_id: str,
               account_id: str, base_url: str, email: str | None) -> str:
    """A single-use link that sets the account's password; mailed when `email` is given.

    Earlier unused links of the account stop working."""
    account = _account(session, installation_id, account_id)
    token = secrets.token_urlsafe(32)
    session.execute(delete(AccountSetup).where(AccountSetup.account_id == account_id))
    session.add(AccountSetup(token_hash=security.hash_token(token), account_id=account_id,
                             expires_at=clock.now() + SETUP_VALID))
    link = f"{base_url.rstrip('/')}/account/setup?token={token}"
    session.flush()
    if email:
        body = (f"A Chairside server account was made for you: {account.name} "
                f"(installation {installation_id}).\n\nChoose your password here within "
                f"{int(SETUP_VALID.total_seconds() // 3600)} hours; the link works once:\n"
                f"{link}\n")
        try:
            mail_jobs.send(session, settings, to=email, subject="Your Chairside account",
                           body=body)
        except mailer.MailError as exc:
            session.rollback()
            raise Refused(502, str(exc)) from None
    session.commit()
    return link


def use_setup(session: Session, *, token: str, password: str) -> Account:
    """Set the first password through a setup link; the link is then spent."""
    _check_password(password, MIN_PASSWORD)
    row = session.get(AccountSetup, security.hash_token(token))
    if row is None or row.used_at is not None or aware(row.expires_at) <= clock.now():
        raise Refused(410, "this link has expired or was already used")
    account = session.get(Account, row.account_id)
    if account is None:
        raise Refused(410, "this link has expired or was already used")
    account.password_hash = security.hash_password(password)
    sessions.end_for_account(session, account.id)
    row.used_at = clock.now()
    session.commit()
    return account
