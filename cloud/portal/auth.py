"""Portal logins: doctors (installation, login password, user, user password) and
patients (installation, card number, and his own password, or the general password
for patients without one).

Every failure gets the same answer whatever was wrong, after the same amount of
password hashing; failures are counted per account from an address, per address, and (with a high
allowance) per account; the general password, which opens many patients, closes
after a few failures per installation. See cloud.portal.throttle.
"""

from __future__ import annotations

import functools
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud import audit, security
from cloud.models import Installation, Record
from cloud.policy import Principal
from cloud.portal import clock, throttle
from cloud.portal.models import ADMIN, Account, PatientSecret, aware

_INSTALLATION_ID = re.compile(r"^[0-9]{12}$")
WRONG = "The installation ID, a password or the user name is wrong."
WRONG_PATIENT = "The installation ID, card number or password is wrong."


class LoginRefused(Exception):
    def __init__(self, message: str, wait_s: float = 0.0) -> None:
        super().__init__(message)
        self.message = message
        self.wait_s = wait_s


def _slowed(wait: float) -> LoginRefused:
    return LoginRefused(f"Too many failed attempts. Try again in {int(wait) + 1} seconds.",
                        wait)


def _installation(session: Session, installation_id: str) -> Installation | None:
    if not _INSTALLATION_ID.match(installation_id):
        return None
    return session.get(Installation, installation_id)


@functools.cache
def _dummy() -> str:
    """A hash of the current cost, checked when there is none, so that time tells
    nothing about which part was wrong."""
    return security.hash_password("not a password of anyone")


def _verify(password_hash: str | None, password: str) -> bool:
    return security.verify_password(password_hash or _dummy(), password) and bool(password_hash)


def doctor(session: Session, *, installation_id: str, login_password: str, user: str,
           password: str, address: str) -> Principal:
    user = user.strip()
    account_key = f"acct:{installation_id[:32]}:{user.lower()[:64]}"
    # Per account from this address and per address: a stranger elsewhere can not lock
    # the owner out; per account from anywhere only with a high allowance.
    keys = [f"{account_key}@{address}", f"addr:{address}"]
    wide = [account_key]
    wait = throttle.wait_seconds(session, keys, wide)
    if wait > 0:
        audit.record(session, actor=f"user:{user[:64]}", action="login_slowed",
                     installation_id=None, target=installation_id[:32], address=address)
        raise _slowed(wait)
    inst = _installation(session, installation_id)
    login_ok = _verify(inst.login_password_hash if inst else None, login_password)
    principal: Principal | None = None
    if user.lower() == ADMIN:
        if _verify(inst.admin_password_hash if inst else None, password) and inst and login_ok:
            principal = Principal(inst.id, "admin", ADMIN)
    else:
        account = session.execute(select(Account).where(
            Account.installation_id == (inst.id if inst else ""), Account.name == user)
        ).scalar_one_or_none()
        ok = _verify(account.password_hash if account else None, password)
        live = account is not None and (account.expires_at is None
                                        or aware(account.expires_at) > clock.now())
        if ok and live and login_ok and inst and account:
            principal = Principal(inst.id, "account", account.name, account_id=account.id)
    if principal is None:
        throttle.failed(session, keys + wide)
        audit.record(session, actor=f"user:{user[:64]}", action="login_failed",
                     installation_id=inst.id if inst else None, address=address)
        raise LoginRefused(WRONG)
    throttle.succeeded(session, keys[0])
    audit.record(session, actor=principal.actor, action="login",
                 installation_id=principal.installation_id, address=address)
    return principal


def patient(session: Session, *, installation_id: str, card: str, password: str,
            address: str) -> Principal:
    card = card.strip()[:64]
    card_key = f"card:{installation_id[:32]}:{card}"
    general_key = f"general:{installation_id[:32]}"
    keys = [f"{card_key}@{address}", f"addr:{address}"]
    wide = [card_key]
    wait = throttle.wait_seconds(session, keys, wide)
    if wait > 0:
        audit.record(session, actor=f"card:{card}", action="login_slowed",
                     target=installation_id[:32], address=address)
        raise _slowed(wait)
    inst = _installation(session, installation_id)
    patients: list[Record] = []
    if inst is not None and inst.patient_pages_enabled and card:
        patients = [r for r in session.scalars(select(Record).where(
            Record.installation_id == inst.id, Record.entity == "patient",
            Record.fields["card_number"].as_string() == card))
            if not r.fields.get("deleted") and not r.fields.get("merged_into")]
    found: Record | None = None
    via_general = False
    # A patient with a password of his own is opened by it alone: card numbers are
    # short and sequential, so the general password must not reach his page.
    # Every attempt hashes twice (an own password, the general one: real or dummy), so
    # that time tells nothing about whether the card exists or has a password.
    without_own: list[Record] = []
    own_checks = 0
    for rec in patients:
        own = session.get(PatientSecret, rec.entity_id)
        if own is None:
            without_own.append(rec)
            continue
        own_checks += 1
        if _verify(own.password_hash, password):
            found = rec
            break
    if not own_checks:
        _verify(None, password)
    general_open = (inst is not None and inst.general_password_enabled
                    and throttle.wait_seconds(session, [general_key]) == 0)
    if found is None and general_open and without_own and inst is not None:
        if _verify(inst.general_password_hash, password):
            found, via_general = without_own[0], True
        else:
            keys.append(general_key)
    elif found is None:
        _verify(None, password)  # the same hashing work as a general password check
    if found is None or inst is None:
        throttle.failed(session, keys + wide)
        audit.record(session, actor=f"card:{card}", action="patient_login_failed",
                     installation_id=inst.id if inst else None, address=address)
        raise LoginRefused(WRONG_PATIENT)
    throttle.succeeded(session, keys[0])
    principal = Principal(inst.id, "patient", f"card {card}", patient_id=found.entity_id)
    audit.record(session, actor=principal.actor, action="patient_login",
                 installation_id=inst.id, target=found.entity_id, address=address,
                 detail="general password" if via_general else "own password")
    return principal
