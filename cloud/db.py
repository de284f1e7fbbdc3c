"""Engines and sessions for SQLite and PostgreSQL.

SQLite: WAL, ``synchronous=FULL``, a busy timeout and foreign keys. Python's sqlite3
transaction handling is switched off and SQLAlchemy emits ``BEGIN`` itself, so that a
writing transaction can take the write lock up front (``BEGIN IMMEDIATE``) instead of
failing when a read upgrades to a write (see `write_transaction`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from app.platform import jsoncodec
from cloud.models import Installation

BUSY_TIMEOUT_MS = 30_000


def make_engine(url: str) -> Engine:
    codec: dict[str, Any] = {
        "json_serializer": jsoncodec.dumps, "json_deserializer": jsoncodec.loads,
    }
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
            **codec,
        )
        _sqlite_hooks(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, **codec)


def _sqlite_hooks(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        if conn.get_execution_options().get("sqlite_immediate"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def write_transaction(session: Session, installation_id: str) -> Iterator[Installation]:
    """One writing transaction of an installation, serialised with every other one.

    Yields the installation row, locked until commit: on PostgreSQL by
    ``SELECT ... FOR UPDATE`` on its row, on SQLite by the database write lock taken at
    ``BEGIN IMMEDIATE``. Sequence numbers taken from ``Installation.last_seq`` inside
    are therefore gapless and commit-ordered. Commits on success, rolls back on error.
    """
    if session.in_transaction():
        session.commit()  # end any read snapshot; the write starts fresh
    session.connection(execution_options={"sqlite_immediate": True})
    try:
        inst = session.execute(
            select(Installation).where(Installation.id == installation_id).with_for_update()
            .execution_options(populate_existing=True)
        ).scalar_one()
        yield inst
        session.commit()
    except BaseException:
        session.rollback()
        raise
