"""Server-side portal sessions: a random 128-bit token in the cookie, its sha256 here.

A session ends at logout, after `IDLE` without a request, `ABSOLUTE` after its login
however active, and as soon as what it stood on goes or changes: its account deleted
or expired, the patient pages switched off, the password it was opened with changed
or removed (the login password ends every doctor's session, the general password every
session it opened). A new
token is issued at every login (no fixation). Each session has its own CSRF token.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass
from typing import cast

from sqlalchemy import delete, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app.platform.rowcount import rowcount
from cloud import security
from cloud.models import Installation
from cloud.policy import Kind, Principal
from cloud.portal import clock
from cloud.portal.models import Account, PatientSecret, PortalSession, aware

IDLE = dt.timedelta(minutes=15)
# However active, a session ends this long after its login.
ABSOLUTE = dt.timedelta(hours=12)
# Every read of a signed-in page would otherwise write: the last request is noted at
# most this often (so a session may end up to this much before IDLE).
TOUCH_EVERY = dt.timedelta(minutes=1)
TOUCH_TRIES = 3
log = logging.getLogger("cloud.sessions")


@dataclass(frozen=True, slots=True)
class Active:
    principal: Principal
    csrf: str


def start(session: Session, p: Principal) -> tuple[str, str]:
    """A new session for `p`: (cookie token, CSRF token)."""
    token = secrets.token_urlsafe(16)  # 128 random bits
    csrf = secrets.token_urlsafe(24)
    now = clock.now()
    session.add(PortalSession(
        token_hash=security.hash_token(token), installation_id=p.installation_id,
        kind=p.kind, account_id=p.account_id, name=p.name, patient_id=p.patient_id,
        csrf=csrf, created_at=now, last_seen_at=now,
    ))
    session.commit()
    return token, csrf


def _still_valid(session: Session, row: PortalSession, now: dt.datetime) -> bool:
    if now - aware(row.last_seen_at) > IDLE or now - aware(row.created_at) > ABSOLUTE:
        return False
    if row.kind == "account":
        account = session.get(Account, row.account_id)
        if account is None or account.installation_id != row.installation_id:
            return False
        if account.expires_at is not None and aware(account.expires_at) <= now:
            return False
    if row.kind == "patient":
        inst = session.get(Installation, row.installation_id)
        if inst is None or not inst.patient_pages_enabled:
            return False
    return True


def resume(session: Session, token: str | None) -> Active | None:
    """The session of a cookie token, touched; None (and the row gone) when it ended."""
    if not token or len(token) > 200:
        return None
    row = session.get(PortalSession, security.hash_token(token))
    if row is None:
        return None
    now = clock.now()
    if not _still_valid(session, row, now):
        session.delete(row)
        session.commit()
        return None
    # The column holds only the kinds a session was made for (policy.Kind).
    active = Active(Principal(row.installation_id, cast(Kind, row.kind), row.name,
                              row.account_id, row.patient_id), row.csrf)
    if now - aware(row.last_seen_at) >= TOUCH_EVERY:
        _touch(session, row.token_hash, now)
    else:
        session.commit()
    return active


def _touch(session: Session, token_hash: str, now: dt.datetime) -> None:
    """Note the session's last request, in a writing transaction of its own (SQLite can
    not turn the read into a write while others write); a busy database is tried again,
    and a touch that still fails costs at most a minute of idle time, never the read."""
    session.commit()
    for _ in range(TOUCH_TRIES):
        try:
            session.connection(execution_options={"sqlite_immediate": True})
            session.execute(update(PortalSession).where(PortalSession.token_hash == token_hash)
                            .values(last_seen_at=now))
            session.commit()
            return
        except OperationalError:
            session.rollback()
    log.warning("could not note a session's last request: the database stayed busy")


def end(session: Session, token: str | None) -> None:
    if token:
        session.execute(delete(PortalSession).where(
            PortalSession.token_hash == security.hash_token(token)))
        session.commit()


def end_for_account(session: Session, account_id: str) -> None:
    """Every session of an account (deleted, expired, or a share taken away)."""
    session.execute(delete(PortalSession).where(PortalSession.account_id == account_id))


def end_for_installation(session: Session, installation_id: str, kind: str) -> None:
    session.execute(delete(PortalSession).where(PortalSession.installation_id == installation_id,
                                                PortalSession.kind == kind))


def end_for_patient(session: Session, installation_id: str, patient_id: str) -> None:
    """Every session on a patient's page (his password was set, changed or removed)."""
    session.execute(delete(PortalSession).where(
        PortalSession.installation_id == installation_id, PortalSession.kind == "patient",
        PortalSession.patient_id == patient_id))


def end_for_general_password(session: Session, installation_id: str) -> None:
    """Every session the general password opened: those of patients without a password
    of their own (a patient who gets one has his sessions ended then)."""
    own = select(PatientSecret.patient_id).where(
        PatientSecret.installation_id == installation_id)
    session.execute(delete(PortalSession).where(
        PortalSession.installation_id == installation_id, PortalSession.kind == "patient",
        PortalSession.patient_id.not_in(own)))


def sweep(session: Session) -> int:
    """Remove sessions idle for longer than IDLE (they could not be resumed anyway)."""
    now = clock.now()
    result = session.execute(delete(PortalSession).where(
        (PortalSession.last_seen_at < now - IDLE) | (PortalSession.created_at < now - ABSOLUTE)))
    session.commit()
    return rowcount(result)
