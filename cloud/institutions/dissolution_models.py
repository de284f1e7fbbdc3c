"""Tables of dissolution: an institution's dissolution (asked, revoked or carried out)
and the one-time codes that confirm it (only their MAC is kept)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cloud.models import Base, utcnow

PENDING = "pending"  # within the 72 hours: revocable
REVOKED = "revoked"
DONE = "done"  # purged


class Dissolution(Base):
    """The institution's dissolution, one row per institution: asked again after a
    revoke, the row is asked anew."""

    __tablename__ = "dissolutions"
    institution_id: Mapped[str] = mapped_column(ForeignKey("institutions.id"),
                                                primary_key=True)
    state: Mapped[str] = mapped_column(String(8))
    asked_by: Mapped[str] = mapped_column(String(120))
    verified_with: Mapped[str] = mapped_column(String(120), default="")
    asked_at: Mapped[dt.datetime]
    dissolve_at: Mapped[dt.datetime]
    revoked_by: Mapped[str] = mapped_column(String(120), default="")
    revoked_at: Mapped[dt.datetime | None]
    done_at: Mapped[dt.datetime | None]


class LabContact(Base):
    """Where a lab administrator's one-time codes go (labs have no practice email)."""

    __tablename__ = "lab_contacts"
    member_id: Mapped[str] = mapped_column(ForeignKey("lab_members.id", ondelete="CASCADE"),
                                           primary_key=True)
    email: Mapped[str] = mapped_column(String(320), default="")
    mobile: Mapped[str] = mapped_column(String(32), default="")


class DissolutionCode(Base):
    """A six-digit code sent to one admin account for one dissolution request."""

    __tablename__ = "dissolution_codes"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    institution_id: Mapped[str] = mapped_column(ForeignKey("institutions.id"), index=True)
    account: Mapped[str] = mapped_column(String(48))  # "admin" or "user:<id>"
    asked_by: Mapped[str] = mapped_column(String(120))
    code_mac: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[dt.datetime | None]
