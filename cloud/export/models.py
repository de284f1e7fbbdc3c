"""Tables of the data download: groups and what they allow, the one-time codes, and
the downloads themselves.

A member is named by one string: "admin" (the built-in portal admin), "account:<id>"
(a server account) or "user:<id>" (a program user of the desktop, a synced row).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cloud.models import Base, utcnow


class AccessGroup(Base):
    """A group of the practice and the permissions its members hold."""

    __tablename__ = "access_groups"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    installation_id: Mapped[str] = mapped_column(ForeignKey("installations.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    permissions: Mapped[dict[str, Any]]  # {"names": [permission, ...]}
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    __table_args__ = (UniqueConstraint("installation_id", "name", name="uq_access_groups_name"),)


class GroupMember(Base):
    __tablename__ = "access_group_members"
    group_id: Mapped[str] = mapped_column(ForeignKey("access_groups.id", ondelete="CASCADE"),
                                          primary_key=True)
    member: Mapped[str] = mapped_column(String(48), primary_key=True)


class MemberContact(Base):
    """Where a member's one-time codes go (set by the administrator who grants him
    the permission; a code that reaches him proves the address)."""

    __tablename__ = "member_contacts"
    installation_id: Mapped[str] = mapped_column(ForeignKey("installations.id"),
                                                 primary_key=True)
    member: Mapped[str] = mapped_column(String(48), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), default="")
    mobile: Mapped[str] = mapped_column(String(32), default="")
    verified_at: Mapped[dt.datetime | None]


class DownloadCode(Base):
    """A six-digit code sent for one scheduling request; only its HMAC is kept."""

    __tablename__ = "download_codes"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    installation_id: Mapped[str] = mapped_column(ForeignKey("installations.id"), index=True)
    member: Mapped[str] = mapped_column(String(48), index=True)
    code_mac: Mapped[str] = mapped_column(String(64))
    run_on: Mapped[dt.date]
    sealed_password: Mapped[str | None] = mapped_column(String(400))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[dt.datetime | None]


class DataDownload(Base):
    """One scheduled download: who asked, for when, and where its file is."""

    __tablename__ = "data_downloads"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    installation_id: Mapped[str] = mapped_column(ForeignKey("installations.id"), index=True)
    member: Mapped[str] = mapped_column(String(48), index=True)
    member_name: Mapped[str] = mapped_column(String(120))
    run_on: Mapped[dt.date]
    run_at: Mapped[dt.datetime]
    # scheduled, running, ready, failed, expired
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    # the ZIP's password, sealed with the server's key; wiped once the ZIP is made
    sealed_password: Mapped[str | None] = mapped_column(String(400))
    file_name: Mapped[str] = mapped_column(String(200), default="")
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    rows: Mapped[dict[str, Any]]
    error: Mapped[str] = mapped_column(String(400), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    ready_at: Mapped[dt.datetime | None]
    expires_at: Mapped[dt.datetime | None]
    retrieved_at: Mapped[dt.datetime | None]
