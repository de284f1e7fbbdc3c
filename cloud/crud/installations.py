"""Installations (registered practice databases), upload passwords and devices."""

from __future__ import annotations

import datetime as dt
import functools
import logging

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.ids import new_id
from cloud import audit, mail_jobs, mailer, passwords, security
from cloud.config import Settings
from cloud.crud import DeviceCtx, Refused
from cloud.models import Device, Installation, utcnow
from cloud.portal import throttle

log = logging.getLogger("cloud.installations")

_MAIL_SUBJECT = "Your Chairside upload password"


def _password_mail(installation_id: str, password: str) -> str:
    return (
        "Your practice database is registered with the Chairside cloud.\n\n"
        f"Installation ID: {installation_id}\n"
        f"Upload password: {password}\n\n"
        "Enter both in Chairside, in the Server window. Keep the password private;\n"
        "you can change it there at any time.\n"
    )


def mask_email(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def register(session: Session, *, settings: Settings, email: str,
             address: str) -> Installation:
    """Create an installation and mail its upload password; nothing stays if mail fails.

    Each one hashes and sends a mail: registrations from one address are counted and
    slowed as failed passwords are (throttle.FREE_WIDE in a window, then growing)."""
    key = [f"register:{address}"]
    throttle.refuse_if_slowed(session, (), key)
    throttle.failed(session, key)
    password = security.new_upload_password()
    for _ in range(5):
        inst = Installation(
            id=security.new_installation_id(),
            email=email,
            password_hash=security.hash_password(password),
            password_mailed_at=utcnow(),
            last_seq=0,
        )
        session.add(inst)
        try:
            session.flush()
            break
        except IntegrityError:
            session.rollback()
    else:  # pragma: no cover - 5 collisions in a space of 9e11
        raise Refused(503, "could not allocate an installation id; try again")
    try:
        mail_jobs.send(session, settings, to=email, subject=_MAIL_SUBJECT,
                    body=_password_mail(inst.id, password))
    except mailer.MailError as exc:
        session.rollback()
        raise Refused(502, str(exc)) from None
    session.commit()
    log.info("installation %s registered", inst.id)
    return inst


def _get(session: Session, installation_id: str) -> Installation:
    inst = session.get(Installation, installation_id)
    if inst is None:
        raise Refused(404, "unknown installation")
    return inst


def resend_password(session: Session, *, settings: Settings, installation_id: str) -> str:
    """Mail a new upload password to the registered address; returns it masked.

    The new password works beside the current one until it is first used, so that a
    stranger who knows the installation id can not lock the practice out.
    """
    inst = _get(session, installation_id)
    now = utcnow()
    last = inst.password_mailed_at
    if last is not None:
        if last.tzinfo is None:
            last = last.replace(tzinfo=dt.UTC)
        wait = settings.password_mail_interval_s - (now - last).total_seconds()
        if wait > 0:
            raise Refused(429, "a password was mailed moments ago; check the inbox and spam",
                          {"Retry-After": str(int(wait) + 1)})
    password = security.new_upload_password()
    inst.pending_password_hash = security.hash_password(password)
    inst.password_mailed_at = now
    session.flush()
    try:
        mail_jobs.send(session, settings, to=inst.email, subject=_MAIL_SUBJECT,
                    body=_password_mail(inst.id, password))
    except mailer.MailError as exc:
        session.rollback()
        raise Refused(502, str(exc)) from None
    session.commit()
    return mask_email(inst.email)


def check_password(session: Session, *, installation_id: str, password: str,
                   address: str) -> Installation:
    """The installation when `password` is its upload password (current or mailed).

    Guesses are slowed before anything is hashed: per address and installation, per
    address, and (with a higher allowance) per installation from anywhere."""
    keys = [f"upload:{installation_id[:32]}:{address}", f"addr:{address}"]
    wide = [f"upload:{installation_id[:32]}"]
    throttle.refuse_if_slowed(session, keys, wide)
    inst = session.get(Installation, installation_id)
    if inst is None:
        security.verify_password(_dummy_hash(), password)  # same cost
    elif security.verify_password(inst.password_hash, password):
        throttle.succeeded(session, keys[0])
        return inst
    elif inst.pending_password_hash and security.verify_password(
            inst.pending_password_hash, password):
        inst.password_hash, inst.pending_password_hash = inst.pending_password_hash, None
        session.commit()
        throttle.succeeded(session, keys[0])
        return inst
    throttle.failed(session, keys + wide)
    audit.record(session, actor=f"address:{address}", action="upload_password_failed",
                 installation_id=inst.id if inst else None, address=address)
    raise Refused(403, "wrong installation id or upload password")


@functools.cache
def _dummy_hash() -> str:
    return security.hash_password("not an upload password")


def change_password(session: Session, *, installation_id: str, current: str, new: str,
                    address: str) -> None:
    passwords.refuse_weak_upload(new)
    inst = check_password(session, installation_id=installation_id, password=current,
                          address=address)
    inst.password_hash = security.hash_password(new)
    inst.pending_password_hash = None
    session.commit()
    log.info("upload password of installation %s changed", inst.id)


def register_device(
    session: Session, *, installation_id: str, password: str, node: str, name: str,
    address: str,
) -> tuple[Device, str]:
    """Credentials for one PC; a PC registering again gets new ones, the old revoked."""
    inst = check_password(session, installation_id=installation_id, password=password,
                          address=address)
    now = utcnow()
    session.execute(
        update(Device)
        .where(Device.installation_id == inst.id, Device.node == node,
               Device.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    token = security.new_device_token()
    device = Device(id=new_id(), installation_id=inst.id, node=node, name=name,
                    token_hash=security.hash_token(token), created_at=now)
    session.add(device)
    session.commit()
    log.info("device %s (node %s) registered for installation %s", device.id, node, inst.id)
    return device, token


def device_for_token(session: Session, *, token: str) -> DeviceCtx | None:
    row = session.execute(
        select(Device.id, Device.installation_id, Device.node).where(
            Device.token_hash == security.hash_token(token), Device.revoked_at.is_(None)
        )
    ).first()
    return DeviceCtx(row.id, row.installation_id, row.node) if row else None


def list_devices(session: Session, *, installation_id: str) -> list[Device]:
    return list(
        session.scalars(
            select(Device).where(Device.installation_id == installation_id)
            .order_by(Device.created_at)
        )
    )


def revoke_device(session: Session, *, installation_id: str, device_id: str) -> None:
    device = session.get(Device, device_id)
    if device is None or device.installation_id != installation_id:
        raise Refused(404, "unknown device")
    if device.revoked_at is None:
        device.revoked_at = utcnow()
    session.commit()
    log.info("device %s of installation %s revoked", device_id, installation_id)
