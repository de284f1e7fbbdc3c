"""Tables of data migration between two institutions of the same type: the verification
codes a receiving institution hands out (only their hash is kept), each migration asked
for and how it ended, and every row it moved (so that a late write to a row that left
is told where it went instead of being refused as a stranger's)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cloud.models import Base, utcnow

QUEUED = "queued"
RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"


class MigrationCode(Base):
    __tablename__ = "migration_codes"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    institution_id: Mapped[str] = mapped_column(ForeignKey("institutions.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]


class Migration(Base):
    __tablename__ = "migrations"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    source_id: Mapped[str] = mapped_column(ForeignKey("institutions.id"), index=True)
    target_id: Mapped[str] = mapped_column(ForeignKey("institutions.id"), index=True)
    status: Mapped[str] = mapped_column(String(10), default=QUEUED)
    reason: Mapped[str] = mapped_column(String(500), default="")
    requested_by: Mapped[str] = mapped_column(String(120))
    moved: Mapped[int] = mapped_column(Integer, default=0)  # rows moved, once succeeded
    images: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]


class MovedRow(Base):
    """A synced row a migration took from one installation to another (its last move)."""

    __tablename__ = "moved_rows"
    entity_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    from_installation_id: Mapped[str] = mapped_column(String(32), index=True)
    to_installation_id: Mapped[str] = mapped_column(String(32))
    migration_id: Mapped[str] = mapped_column(ForeignKey("migrations.id"))
    # The stamp of the deletion the sender's PCs got: a move back must write past it.
    hlc: Mapped[str] = mapped_column(String(40))
