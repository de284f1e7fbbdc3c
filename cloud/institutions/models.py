"""Tables of institutions: a clinic or a lab, a lab's own members (a clinic's are its
installation's portal admin, server accounts and program users), connection requests
from a lab to a clinic, and the signed-in browsers of lab members."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cloud.models import Base, utcnow

CLINIC = "clinic"
LAB = "lab"
ADMIN_ROLE = "admin"
MEMBER_ROLE = "member"
PENDING = "pending"
APPROVED = "approved"
REFUSED = "refused"


class Institution(Base):
    __tablename__ = "institutions"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)  # told to other institutions
    type: Mapped[str] = mapped_column(String(8))  # CLINIC or LAB
    name: Mapped[str] = mapped_column(String(120))
    region: Mapped[str] = mapped_column(String(8), default="")
    auto_review: Mapped[bool] = mapped_column(Boolean, default=False)
    # A clinic is one practice installation; a lab has none.
    installation_id: Mapped[str | None] = mapped_column(
        ForeignKey("installations.id"), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class LabMember(Base):
    """A cloud account of a lab: it signs in to the portal with the lab's code."""

    __tablename__ = "lab_members"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    institution_id: Mapped[str] = mapped_column(ForeignKey("institutions.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(8), default=MEMBER_ROLE)
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    __table_args__ = (UniqueConstraint("institution_id", "name", name="uq_lab_members_name"),)


class ConnectionRequest(Base):
    __tablename__ = "connection_requests"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    lab_id: Mapped[str] = mapped_column(ForeignKey("institutions.id"), index=True)
    clinic_id: Mapped[str] = mapped_column(ForeignKey("institutions.id"), index=True)
    state: Mapped[str] = mapped_column(String(10), default=PENDING)
    requested_by: Mapped[str] = mapped_column(String(120))
    decided_by: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[dt.datetime | None]


class LabSession(Base):
    """A lab member's signed-in browser; only the sha256 of its cookie token is kept."""

    __tablename__ = "lab_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    member_id: Mapped[str] = mapped_column(ForeignKey("lab_members.id", ondelete="CASCADE"),
                                           index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
