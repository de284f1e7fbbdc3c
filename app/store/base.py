"""The declarative base and the mixin of synced tables, apart from the models so that
models of one area (app.store.cases) can live in their own module."""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import JSON, Boolean, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.core.ids import new_id


class Base(DeclarativeBase):
    pass


class Synced:
    """Mixin of every table whose rows travel to the cloud and other PCs."""

    __entity__: ClassVar[str]
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    # {field: [hlc, base-or-null]}
    stamps: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, nullable=False)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
