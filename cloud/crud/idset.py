"""`column IN (ids)` for the thousands of ids a pushed batch looks up, as one parameter.

An ordinary IN list is expanded into one bound parameter per id on every execution, and
SQLAlchemy processes each in Python: for a batch of 2,000 mutations that cost more than
the database's lookups. The ids go instead as one value: a JSON array that SQLite reads
with json_each, an array that PostgreSQL compares with ANY.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import ColumnElement, String, any_, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import QueryableAttribute, Session

from app.platform import jsoncodec


def among(
    session: Session, column: ColumnElement[str] | QueryableAttribute[str],
    ids: Collection[str],
) -> ColumnElement[bool]:
    """`column` is one of `ids` (text ids), for a statement run in `session`."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(ids), type_=ARRAY(String)))
    values = func.json_each(bindparam(None, jsoncodec.dumps(list(ids)), type_=String))
    return column.in_(select(values.table_valued("value").c.value))
