"""Asking for, making, handing out and expiring data downloads.

    request_code  -> the member (holding the permission, his password typed) picks a
                     day; a one-time code goes to his address; the password is sealed
    confirm       -> the right code schedules the download (a job at night, run_on)
    build         -> the job: the ZIP locked with that password; the password wiped
    retrieve      -> the requesting member alone, his password typed again, for 7 days
    expire        -> files past their 7 days are deleted

Every step, refused ones included, is audited (never a code or a password).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import cast

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.core.ids import new_id
from cloud import audit
from cloud.config import Settings
from cloud.crud import Refused
from cloud.export import access, csvzip, seal
from cloud.export.codes import CodeSender, SendError, new_code
from cloud.export.models import DataDownload, DownloadCode
from cloud.jobs.queue import enqueue
from cloud.portal import clock

CODE_TTL = dt.timedelta(minutes=10)
CODE_TRIES = 5
CODE_INTERVAL = dt.timedelta(seconds=60)  # between two codes of one member
CODES_PER_HOUR = 5
KEEP = dt.timedelta(days=7)
LATEST = dt.timedelta(days=90)  # how far ahead a download can be scheduled
NIGHT = dt.time(1, 0)  # the practice's local time the job runs on its day
JOB_KIND = "data_download.build"
SCHEDULED, RUNNING, READY, FAILED, EXPIRED = "scheduled", "running", "ready", "failed", "expired"


def folder(settings: Settings) -> Path:
    return settings.data_dir / "downloads"


def first_day(session: Session, installation_id: str) -> dt.date:
    """The earliest day a download can be made: tomorrow, in the practice's time zone."""
    return clock.today(clock.zone(session, installation_id)) + dt.timedelta(days=1)


def _audit(session: Session, member: access.Member, action: str, address: str,
           target: str = "", detail: str = "") -> None:
    audit.record(session, actor=member.actor, action=action,
                 installation_id=member.installation_id, target=target, address=address,
                 detail=detail)


def require(session: Session, member: access.Member, address: str) -> None:
    if not access.holds(session, member):
        _audit(session, member, "download_denied", address, detail="permission missing")
        raise Refused(403, access.missing())


def request_code(session: Session, settings: Settings, sender: CodeSender,
                 member: access.Member, *, run_on: dt.date, password: str,
                 address: str) -> tuple[str, str]:
    """Send a code for a download on `run_on`; returns (code id, where it went)."""
    require(session, member, address)
    first = first_day(session, member.installation_id)
    if run_on < first or run_on > first + LATEST:
        raise Refused(422, f"Choose a day from {first.isoformat()} to "
                           f"{(first + LATEST).isoformat()}.")
    if not access.check_password(session, member, password):
        _audit(session, member, "download_password_refused", address)
        raise Refused(403, "That is not your password. The download is locked with your "
                           "own password: type the one you sign in with.")
    contact = access.contact(session, member)
    if contact is None:
        raise Refused(409, "No email address or mobile number is set for your one-time "
                           f"codes. It is set by {access.GRANTED_BY}.")
    now = clock.now()
    recent = list(session.scalars(select(DownloadCode.created_at).where(
        DownloadCode.installation_id == member.installation_id,
        DownloadCode.member == member.key,
        DownloadCode.created_at > now - dt.timedelta(hours=1))))
    latest = max((_aware(t) for t in recent), default=None)
    if (latest is not None and now - latest < CODE_INTERVAL) or len(recent) >= CODES_PER_HOUR:
        _audit(session, member, "download_code_slowed", address)
        wait = "a minute" if len(recent) < CODES_PER_HOUR else "an hour"
        raise Refused(429, f"A code was sent a moment ago. Use it, or ask again in {wait}.")
    code, code_id = new_code(), new_id()
    session.add(DownloadCode(
        id=code_id, installation_id=member.installation_id, member=member.key,
        code_mac=seal.code_mac(settings, code_id, code), run_on=run_on,
        sealed_password=seal.seal(settings, password, code_id), created_at=now,
        expires_at=now + CODE_TTL, attempts=0))
    session.commit()
    try:
        where = sender.send(contact, code, member.installation_id)
    except SendError as exc:
        table = cast(Table, DownloadCode.__table__)  # a declared table, typed as any FromClause
        session.execute(table.delete().where(DownloadCode.id == code_id))
        session.commit()
        raise Refused(503, str(exc)) from None
    _audit(session, member, "download_code_sent", address, target=code_id,
           detail=f"for {run_on.isoformat()} to {where}")
    return code_id, where


def _aware(when: dt.datetime) -> dt.datetime:
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def confirm(session: Session, settings: Settings, member: access.Member, *, code_id: str,
            code: str, address: str) -> DataDownload:
    """The code typed in the pop-up: right, in time and unused, it schedules the job."""
    require(session, member, address)
    row = session.get(DownloadCode, code_id[:36])
    if row is None or row.member != member.key or row.installation_id != member.installation_id:
        raise Refused(404, "This code request is not known. Schedule the download again.")
    now = clock.now()
    reason = ("This code was already used." if row.used_at else
              "This code has expired. Schedule the download again for a new code."
              if _aware(row.expires_at) <= now else
              "Too many wrong codes. Schedule the download again for a new code."
              if row.attempts >= CODE_TRIES else "")
    if not reason and not seal.same(row.code_mac, seal.code_mac(settings, row.id,
                                                                code.strip())):
        row.attempts += 1
        reason = "The code is not right. Check the latest message and type it again."
    if reason:
        session.commit()
        _audit(session, member, "download_code_refused", address, target=row.id,
               detail=reason)
        raise Refused(422, reason)
    password = seal.unseal(settings, row.sealed_password or "", row.id)
    row.used_at, row.sealed_password = now, None
    tz = clock.zone(session, member.installation_id)
    run_at = dt.datetime.combine(row.run_on, NIGHT, tzinfo=tz).astimezone(dt.UTC)
    download = DataDownload(
        id=new_id(), installation_id=member.installation_id, member=member.key,
        member_name=member.name[:120], run_on=row.run_on, run_at=run_at, status=SCHEDULED,
        file_name="", size=0, rows={}, error="", created_at=now)
    download.sealed_password = seal.seal(settings, password, download.id)
    session.add(download)
    contact = access.contact(session, member)
    if contact is not None and contact.member != "admin":
        contact.verified_at = now  # the code reached him: the address is his
    _enqueue(session, download)
    session.commit()
    _audit(session, member, "download_scheduled", address, target=download.id,
           detail=f"for {row.run_on.isoformat()}")
    return download


def _enqueue(session: Session, download: DataDownload) -> None:
    """Queue the night's job in the same transaction as the download it makes."""
    enqueue(session, JOB_KIND, {"download_id": download.id}, run_at=download.run_at,
            installation_id=download.installation_id)


def downloads_of(session: Session, member: access.Member) -> list[DataDownload]:
    return list(session.scalars(select(DataDownload).where(
        DataDownload.installation_id == member.installation_id,
        DataDownload.member == member.key).order_by(DataDownload.created_at.desc())
        .limit(20)))


def build(maker: sessionmaker[Session], settings: Settings, download_id: str) -> None:
    """The night's job: make the ZIP, then forget the password. Safe to run again."""
    with maker() as session:
        _write_lock(session)
        row = session.get(DataDownload, download_id)
        if row is None or row.status in (READY, EXPIRED):
            return
        if not row.sealed_password:
            row.status, row.error = FAILED, "the password was no longer kept"
            session.commit()
            return
        try:
            password = seal.unseal(settings, row.sealed_password, row.id)
        except ValueError:  # the server's key was replaced and the old one not kept
            row.status, row.sealed_password = FAILED, None
            row.error = "the server's key changed; schedule the download again"
            session.commit()
            return
        row.status = RUNNING
        session.commit()
        iid, member, member_name = row.installation_id, row.member, row.member_name
    name = csvzip.file_name(iid, clock.today(dt.UTC))
    dest = folder(settings) / f"{download_id}.zip"
    try:
        with maker() as session:
            made = csvzip.write(session, iid, dest, password)
    except Exception:
        # Shown as failed; the runner tries again (the password stays sealed until
        # `expire` gives up on it).
        with maker() as session:
            _write_lock(session)
            row = session.get(DataDownload, download_id)
            if row is not None:
                row.status, row.error = FAILED, "the file could not be made; trying again"
                session.commit()
        raise
    finally:
        del password
    with maker() as session:
        _write_lock(session)
        row = session.get(DataDownload, download_id)
        assert row is not None
        now = clock.now()
        row.status, row.file_name, row.size = READY, name, made.size
        row.rows, row.ready_at, row.expires_at = dict(made.rows), now, now + KEEP
        row.sealed_password = None
        session.commit()
        audit.record(session, actor="server", action="download_made",
                     installation_id=iid, target=download_id,
                     detail=f"for {member_name} ({member}); {made.size} bytes")


def _write_lock(session: Session) -> None:
    """Read-then-write on SQLite takes the write lock first: a deferred transaction whose
    read saw the database before another process's commit can not write any more and
    fails at once ("database is locked"), whatever the busy timeout. No-op elsewhere."""
    session.connection(execution_options={"sqlite_immediate": True})


def due(session: Session) -> list[str]:
    """Downloads whose night has come and that are not made yet."""
    return list(session.scalars(select(DataDownload.id).where(
        DataDownload.status == SCHEDULED, DataDownload.run_at <= clock.now())
        .order_by(DataDownload.run_at, DataDownload.created_at)))


def retrieve(session: Session, settings: Settings, member: access.Member, *,
             download_id: str, password: str, address: str) -> tuple[Path, str]:
    """The ZIP's path and the name to save it under, for its requester alone, after his
    password again."""
    require(session, member, address)
    row = session.get(DataDownload, download_id[:36])
    if row is None or row.installation_id != member.installation_id:
        raise Refused(404, "No such download.")
    if row.member != member.key:
        _audit(session, member, "download_retrieve_refused", address, target=row.id,
               detail="not the requester")
        raise Refused(403, "Only the user who asked for this download can retrieve it.")
    if row.status != READY or (row.expires_at and _aware(row.expires_at) <= clock.now()):
        raise Refused(410 if row.status == EXPIRED else 409,
                      "This download has expired and was deleted." if row.status == EXPIRED
                      else "This download is not ready yet.")
    if not access.check_password(session, member, password):
        _audit(session, member, "download_retrieve_refused", address, target=row.id,
               detail="wrong password")
        raise Refused(403, "That is not your password. Sign in again with your own "
                           "password to retrieve the download.")
    row.retrieved_at = clock.now()
    session.commit()
    _audit(session, member, "download_retrieved", address, target=row.id)
    return folder(settings) / f"{row.id}.zip", row.file_name


GIVE_UP = dt.timedelta(days=2)  # a download not made this long after its night


def expire(session: Session, settings: Settings) -> int:
    """Delete downloads past their 7 days, and forget the password of any that could
    not be made; returns how many were deleted."""
    # A code never typed in: the password sealed with it is no longer needed.
    session.execute(update(DownloadCode).where(
        DownloadCode.sealed_password.is_not(None), DownloadCode.expires_at <= clock.now())
        .values(sealed_password=None))
    session.commit()
    for row in session.scalars(select(DataDownload).where(
            DataDownload.status.in_((SCHEDULED, RUNNING, FAILED)),
            DataDownload.sealed_password.is_not(None),
            DataDownload.run_at <= clock.now() - GIVE_UP)):
        row.status, row.sealed_password = FAILED, None
        row.error = "it could not be made; schedule it again"
        session.commit()
        audit.record(session, actor="server", action="download_failed",
                     installation_id=row.installation_id, target=row.id,
                     detail=f"made for {row.member_name}: not made; password forgotten")
    rows = list(session.scalars(select(DataDownload).where(
        DataDownload.status == READY, DataDownload.expires_at <= clock.now())))
    for row in rows:
        (folder(settings) / f"{row.id}.zip").unlink(missing_ok=True)
        row.status = EXPIRED
        session.commit()
        audit.record(session, actor="server", action="download_expired",
                     installation_id=row.installation_id, target=row.id,
                     detail=f"made for {row.member_name}; deleted after 7 days")
    return len(rows)
