"""The declarative base and the mixin of synced tables, apart from the models so that
models of one area (app.store.cases) can live in their own module."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, cast

from sqlalchemy import JSON, Boolean, String, Table
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.core.ids import new_id

if TYPE_CHECKING:
    from sqlalchemy.sql import FromClause


class Base(DeclarativeBase):
    pass


class Synced:
    """Mixin of every table whose rows travel to the cloud and other PCs."""

    __entity__: ClassVar[str]
    if TYPE_CHECKING:
        # Each synced model is a Base too (see table_of).
        __table__: ClassVar[FromClause]
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    # {field: [hlc, base-or-null]}
    stamps: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, nullable=False)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)


def table_of(model: type[Base] | type[Synced]) -> Table:
    """The Table a model is mapped to: every one is declared with a table name, which
    SQLAlchemy types only as the FromClause any mapped class may have."""
    return cast(Table, model.__table__)
