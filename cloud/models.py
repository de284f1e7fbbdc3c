"""The cloud's tables.

Synced rows are kept generically: one `Record` per entity row with its field values,
their HLC stamps and their bases as JSON objects. Entity ids are global UUIDs, so a
row belongs to exactly one installation. Every applied change is a `Change` with a
sequence number per installation (`Installation.last_seq` is its counter).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    String,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeEngine

from app.core import compact

JSONType = JSON().with_variant(JSONB(), "postgresql")
UTC = dt.UTC


def utcnow() -> dt.datetime:
    return dt.datetime.now(UTC)


class _StoredJSON(TypeDecorator[dict[str, Any]]):
    """JSON (JSONB on PostgreSQL) stored in a compact form and read back whole, so that
    every reader sees the plain form.

    Rows written before the compact forms existed are in the plain form, which reads
    back as it is: no data migration is needed, and none was made."""

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return dialect.type_descriptor(JSONB() if dialect.name == "postgresql" else JSON())


class StampsJSON(_StoredJSON):
    """A record's {field: stamp}: the stamp its fields share said once (app.core.compact)."""

    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return compact.compact_stamps(value) if value else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return compact.expanded_stamps(value) if value else value


class BasesJSON(_StoredJSON):
    """A record's {field: base}: a field without a base (None) is left out, and read as
    None by every reader (`bases.get(field)`)."""

    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if not value:
            return value
        return {n: b for n, b in value.items() if b is not None}


class ChangeFieldsJSON(_StoredJSON):
    """What a change set: written compact by its writer (app.core.compact.change_fields)
    and read field by field here; the pull sends the stored text (cloud.crud.pull)."""

    cache_ok = True

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return compact.expanded(value) if value else value


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dt.datetime: DateTime(timezone=True),
        dict[str, Any]: JSONType,
    }


class Installation(Base):
    """One registered practice database; its row is also the change-log counter."""

    __tablename__ = "installations"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    password_hash: Mapped[str] = mapped_column(String(200))
    # A password mailed by "resend"; valid beside the current one until first used.
    pending_password_hash: Mapped[str | None] = mapped_column(String(200))
    password_mailed_at: Mapped[dt.datetime | None]
    # The portal: login password, the built-in "admin" account, the general password
    # of patient pages (argon2id hashes; None: not set).
    login_password_hash: Mapped[str | None] = mapped_column(String(200))
    admin_password_hash: Mapped[str | None] = mapped_column(String(200))
    general_password_hash: Mapped[str | None] = mapped_column(String(200))
    general_password_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    patient_pages_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Whether patients see their own images on their portal page (doctors always may).
    patient_images_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # The practice's IANA time zone: the portal's diary days and times are its.
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    # The last ConflictRecord.version given out (taken, like last_seq, only inside
    # write_transaction: gapless and in commit order).
    conflict_version: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Device(Base):
    __tablename__ = "devices"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    installation_id: Mapped[str] = mapped_column(ForeignKey("installations.id"), index=True)
    node: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[dt.datetime | None]


class Record(Base):
    __tablename__ = "records"
    entity_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    installation_id: Mapped[str] = mapped_column(ForeignKey("installations.id"))
    entity: Mapped[str] = mapped_column(String(32))
    fields: Mapped[dict[str, Any]]
    stamps: Mapped[dict[str, Any]] = mapped_column(StampsJSON)
    bases: Mapped[dict[str, Any]] = mapped_column(BasesJSON)
    max_hlc: Mapped[str] = mapped_column(String(40))
    seq: Mapped[int] = mapped_column(BigInteger)  # of the last change
    __table_args__ = (Index("ix_records_inst_entity_id", "installation_id", "entity", "entity_id"),)


class Change(Base):
    __tablename__ = "changes"
    installation_id: Mapped[str] = mapped_column(
        ForeignKey("installations.id"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(36))
    # {field: {"value": ..., "hlc": ..., "base": ...}} of the fields this change set, or
    # its compact form (app.core.compact)
    fields: Mapped[dict[str, Any]] = mapped_column(ChangeFieldsJSON)
    origin_node: Mapped[str] = mapped_column(String(16))
    device_id: Mapped[str | None] = mapped_column(String(36))
    mutation_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AppliedMutation(Base):
    """Idempotency: a mutation id seen once, and the result it was answered with."""

    __tablename__ = "mutations"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    installation_id: Mapped[str] = mapped_column(ForeignKey("installations.id"))
    device_id: Mapped[str] = mapped_column(String(36))
    result: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ConflictRecord(Base):
    """A concurrent write that lost; kept for review, never dropped.

    Found once, here, where every write is merged; the PCs keep a copy of this list
    (read in `version` order) and send their decisions back, so every PC shows the
    same conflicts and a decision made on one settles it on all."""

    __tablename__ = "conflicts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    installation_id: Mapped[str] = mapped_column(ForeignKey("installations.id"))
    key: Mapped[str] = mapped_column(String(32))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(36))
    field: Mapped[str] = mapped_column(String(64))
    # {"value", "hlc", "base", "node", "device_id"} of each side
    winner: Mapped[dict[str, Any]]
    loser: Mapped[dict[str, Any]]
    seq: Mapped[int] = mapped_column(BigInteger)  # change-log position when found
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[dt.datetime | None]
    # "kept", "other", "dismissed" (a person's decision) or "elsewhere" (a later write
    # made on top of the winner).
    resolution: Mapped[str | None] = mapped_column(String(10))
    # Installation.conflict_version when found or last settled: PCs read changes in
    # this order.
    version: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (
        UniqueConstraint("installation_id", "key", name="uq_conflicts_key"),
        Index("ix_conflicts_version", "installation_id", "version"),
        Index("ix_conflicts_entity", "installation_id", "entity_id"),
    )


class PatientAlias(Base):
    """A merged patient's old id, resolving to the patient that was kept."""

    __tablename__ = "patient_aliases"
    old_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    installation_id: Mapped[str] = mapped_column(ForeignKey("installations.id"))
    kept_id: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Upload(Base):
    """A tus upload resource. Its offset is the size of its part file on disk."""

    __tablename__ = "uploads"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    installation_id: Mapped[str] = mapped_column(ForeignKey("installations.id"), index=True)
    device_id: Mapped[str] = mapped_column(String(36))
    length: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    patient_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(32))
    filename: Mapped[str] = mapped_column(String(255))
    metadata_header: Mapped[str] = mapped_column(String(4096), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)
    completed_at: Mapped[dt.datetime | None]
    image_id: Mapped[str | None] = mapped_column(String(36))


class Image(Base):
    """An image that arrived whole: its bytes are in the blob store under sha256."""

    __tablename__ = "images"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    installation_id: Mapped[str] = mapped_column(ForeignKey("installations.id"))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    patient_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(32))
    filename: Mapped[str] = mapped_column(String(255))
    device_id: Mapped[str | None] = mapped_column(String(36))
    seq: Mapped[int] = mapped_column(BigInteger)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    __table_args__ = (
        Index("ix_images_inst_sha", "installation_id", "sha256"),
        UniqueConstraint("installation_id", "sha256", "patient_id", "kind", name="uq_images"),
    )
