"""Tables of the portal: server accounts, shares, patient passwords, sessions, failed
logins and the hash-chained audit log.

The built-in "admin" account is not a row: its password hash is on the installation.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cloud.models import Base, utcnow

ADMIN = "admin"


def aware(when: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; every stored one is UTC."""
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


class Account(Base):
    """A server account of an installation (distinct from the program's users)."""

    __tablename__ = "accounts"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    installation_id: Mapped[str] = mapped_column(ForeignKey("installations.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    expires_at: Mapped[dt.datetime | None]  # a temporary account: no login after this
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    __table_args__ = (UniqueConstraint("installation_id", "name", name="uq_accounts_name"),)


class AccountSetup(Base):
    """A single-use link that sets an account's first password."""

    __tablename__ = "account_setups"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"),
                                            index=True)
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]


class Share(Base):
    """What an account sees: the whole database (patient_id empty) or one patient."""

    __tablename__ = "shares"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    installation_id: Mapped[str] = mapped_column(ForeignKey("installations.id"))
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    patient_id: Mapped[str] = mapped_column(String(36), default="")  # "": everything
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    __table_args__ = (
        UniqueConstraint("account_id", "patient_id", name="uq_shares_account_patient"),
    )


class PatientSecret(Base):
    """A patient's own password for his page, set by the clinic."""

    __tablename__ = "patient_secrets"
    patient_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    installation_id: Mapped[str] = mapped_column(ForeignKey("installations.id"))
    password_hash: Mapped[str] = mapped_column(String(200))


class PortalSession(Base):
    """A signed-in browser; only the sha256 of its cookie token is kept."""

    __tablename__ = "portal_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    installation_id: Mapped[str] = mapped_column(ForeignKey("installations.id"))
    kind: Mapped[str] = mapped_column(String(16))  # "admin", "account", "patient"
    account_id: Mapped[str | None] = mapped_column(String(36), index=True)
    name: Mapped[str] = mapped_column(String(64))
    patient_id: Mapped[str | None] = mapped_column(String(36))
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class LoginFailure(Base):
    """One failed login, counted per key (an account, an address, a general password)."""

    __tablename__ = "login_failures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    __table_args__ = (Index("ix_login_failures_key_at", "key", "at"),)


class AuditEntry(Base):
    """Append-only; `hash` = sha256(previous row's hash + this row's content)."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime]
    installation_id: Mapped[str | None] = mapped_column(String(32), index=True)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(120), default="")
    address: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[str] = mapped_column(Text, default="")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    def content(self) -> dict[str, Any]:
        return {"at": aware(self.at).astimezone(dt.UTC).isoformat(timespec="microseconds"),
                "installation_id": self.installation_id, "actor": self.actor,
                "action": self.action, "target": self.target, "address": self.address,
                "detail": self.detail}
