"""Many rows into one table with a single executemany handed to the database driver.

SQLAlchemy's executemany builds a parameter dictionary per row and runs every value
through its type's processing on the way: for the hundreds of thousands of rows of a
first upload or download, that bookkeeping costs more than the database's own work.
Here the statement is written once, each column's bind processing (JSON text, SQLite's
datetime text, PostgreSQL's casts) is looked up once, and the rows go to the driver as
tuples. The values stored are those SQLAlchemy would store: the same processors run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.engine.interfaces import BindTyping

_NOTHING = object()
_PLACEHOLDER = {"qmark": "?", "format": "%s", "pyformat": "%s"}


def insert_many(
    conn: Connection, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """INSERT `rows` (each a sequence of values in `columns` order) into `table`."""
    rows = list(rows)
    if not rows:
        return
    sql, processors = _statement(conn, table, tuple(columns))
    if processors:
        out: list[Sequence[Any]] = []
        # The last value each column processed: a batch stamps all its rows with one
        # time, which SQLite's datetime processing would otherwise format every time.
        last: list[tuple[Any, Any]] = [(_NOTHING, None)] * len(processors)
        for row in rows:
            values = list(row)
            for k, (i, process) in enumerate(processors):
                value = values[i]
                seen, done = last[k]
                if value is not seen:
                    done = process(value)
                    last[k] = (value, done)
                values[i] = done
            out.append(tuple(values))
        rows = out
    conn.exec_driver_sql(sql, rows)


def _statement(
    conn: Connection, table: Table, columns: tuple[str, ...]
) -> tuple[str, list[tuple[int, Callable[[Any], Any]]]]:
    dialect = conn.dialect
    placeholder = _PLACEHOLDER.get(dialect.paramstyle)
    if placeholder is None:
        raise NotImplementedError(f"parameter style {dialect.paramstyle}")
    quote = dialect.identifier_preparer.quote
    marks: list[str] = []
    processors: list[tuple[int, Callable[[Any], Any]]] = []
    for i, name in enumerate(columns):
        impl = table.c[name].type.dialect_impl(dialect)
        process = impl.bind_processor(dialect)
        if process is not None:
            processors.append((i, process))
        # As SQLAlchemy renders it: PostgreSQL drivers that send text are told the type.
        if dialect.bind_typing is BindTyping.RENDER_CASTS and impl.render_bind_cast:
            marks.append(f"{placeholder}::{impl.compile(dialect=dialect)}")
        else:
            marks.append(placeholder)
    sql = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
           f"VALUES ({', '.join(marks)})")
    return sql, processors
