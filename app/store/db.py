"""Opening a practice database: SQLCipher, pragmas, migrations, sessions.

Writes run in `BEGIN IMMEDIATE` transactions, so the app and the sync agent (two
processes on one file) take the write lock up front and never fail half-way through
a transaction on a lock upgrade. Reads run in deferred transactions on their own pool.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlcipher3.dbapi2 as sqlcipher
from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from app.core.ids import new_id, new_node_id
from app.imaging import sealed
from app.platform import jsoncodec
from app.platform.secrets import SecretStore
from app.store import keys, schema_head
from app.store.errors import DiskFullError, StoreError, WrongKeyError
from app.store.models import SyncState

BUSY_TIMEOUT_S = 10.0
# A cache miss costs a read and a decryption: 32 MiB of decrypted pages a connection
# keeps the hot part of a large practice's patient list and search index.
CACHE_KIB = 32 * 1024

# The driver looks for an adapter for every value that is not text or a number, and
# finds none for None and bool (most columns of a pulled row) only after two attribute
# lookups that each raise and clear an exception: about a microsecond a value, seconds
# for a first pull's rows. Registered, they are stored as before (NULL; 1 or 0), five
# times faster. `{}.get` is a C function that answers None for any value.
sqlcipher.register_adapter(type(None), {}.get)
sqlcipher.register_adapter(bool, int)


class WriteSession(Session):
    """The only session class that may change data; its flush writes the outbox."""


class ReadSession(Session):
    """Reads only; a flush with changes is a programming error."""


def _connect(path: Path, key: str) -> Any:
    conn = sqlcipher.connect(
        str(path), timeout=BUSY_TIMEOUT_S, check_same_thread=False, isolation_level=None
    )
    try:
        conn.execute("PRAGMA cipher_log_level = NONE")
        conn.execute(f"PRAGMA key = \"x'{key}'\"")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlcipher.DatabaseError:
        conn.close()
        raise WrongKeyError() from None
    conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
    return conn


def _engine(path: Path, key: str, *, immediate: bool, size: int) -> Engine:
    engine = create_engine(
        f"sqlite+pysqlite:///{path}",
        module=sqlcipher,
        creator=lambda: _connect(path, key),
        poolclass=QueuePool,
        pool_size=size,
        max_overflow=2,
        # Each connection has its own page cache of decrypted pages: hand out the one
        # used last, whose cache is warm, instead of rotating through cold ones.
        pool_use_lifo=True,
        json_serializer=jsoncodec.dumps,
        json_deserializer=jsoncodec.loads,
    )
    begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)

    @event.listens_for(engine, "handle_error")
    def _storage_error(context: Any) -> None:
        refused = _refused_write(context.original_exception)
        if refused is not None:
            raise refused from context.original_exception

    return engine


# SQLite's primary result codes for "no room" and "may not write" (extended codes such
# as SQLITE_READONLY_DBMOVED keep the primary one in the low byte).
_SQLITE_READONLY = 8
_SQLITE_FULL = 13


def _refused_write(exc: BaseException | None) -> DiskFullError | None:
    """The one place where SQLite's disk-full and read-only errors become the store's."""
    code = getattr(exc, "sqlite_errorcode", None)
    if not isinstance(code, int):
        return None
    if code & 0xFF == _SQLITE_FULL:
        return DiskFullError()
    if code & 0xFF == _SQLITE_READONLY:
        return DiskFullError(read_only=True)
    return None


@dataclass(frozen=True, slots=True)
class Identity:
    node_id: str
    database_id: str


class Database:
    """An open practice database. Thread-safe: every operation opens its own session."""

    def __init__(self, path: Path, key: str) -> None:
        self.path = path
        self.writer = _engine(path, key, immediate=True, size=1)
        self.reader = _engine(path, key, immediate=False, size=4)
        # Search as you type reads on connections of its own (driver_read): their page
        # caches keep the list's and the search index's pages, which other reads (a
        # count over a whole bucket, a report) would otherwise push out.
        self.keystrokes = _engine(path, key, immediate=False, size=1)
        self._write = sessionmaker(self.writer, class_=WriteSession, expire_on_commit=False)
        self._read = sessionmaker(self.reader, class_=ReadSession, expire_on_commit=False)
        self.identity: Identity | None = None
        # The image store's key (app.imaging.sealed); None: images are stored plain.
        self.image_key: bytes | None = None

    @contextmanager
    def write(self, **info: Any) -> Iterator[WriteSession]:
        """A write transaction; committed on normal exit, rolled back on an exception.

        `info` goes to session.info (e.g. remote_apply=True for changes pulled from the
        cloud, which must not be queued for upload again).
        """
        session = self._write()
        session.info.update(info)
        session.info["database"] = self
        try:
            with session.begin():
                yield session
        finally:
            session.close()

    @contextmanager
    def read(self) -> Iterator[ReadSession]:
        session = self._read()
        try:
            with session.begin():
                yield session
        finally:
            session.close()

    @contextmanager
    def driver_read(self) -> Iterator[Any]:
        """The driver's own connection, in a read transaction: for the statements that
        run on every keystroke (app.store.patients.patient_search), which a session and
        SQLAlchemy's execution would cost several times over."""
        pooled = self.keystrokes.raw_connection()
        try:
            conn = pooled.driver_connection
            assert conn is not None  # a pooled connection is open until closed
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.execute("ROLLBACK")  # it read only
        finally:
            pooled.close()

    def ensure_identity(self) -> Identity:
        with self.write() as s:
            row = s.scalar(select(SyncState).where(SyncState.id == 1))
            if row is None:
                row = SyncState(id=1, node_id=new_node_id(), database_id=new_id())
                s.add(row)
            self.identity = Identity(row.node_id, row.database_id)
        return self.identity

    def integrity_check(self) -> str:
        with self.writer.connect() as conn:
            return str(conn.exec_driver_sql("PRAGMA integrity_check").scalar())

    def close(self) -> None:
        self.writer.dispose()
        self.reader.dispose()
        self.keystrokes.dispose()


def open_database(
    path: Path,
    secrets: SecretStore | None = None,
    *,
    create: bool = True,
    allow_key_file: bool = False,
) -> Database:
    """Open (creating if allowed) and migrate a practice database.

    Raises StoreError subclasses with user-facing messages: WrongKeyError,
    MissingKeyError, InsecureKeyringError, DatabaseTooNewError.
    """
    from app.store.sync import outbox  # noqa: F401  (registers the flush hooks)

    secrets = secrets or SecretStore()
    path = Path(path)
    if path.exists() and path.stat().st_size > 0:
        key = keys.load_key(path, secrets)
    elif create:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = keys.create_key(path, secrets, allow_key_file)
    else:
        raise StoreError(f"There is no practice database at {path}.")
    db = Database(path, key)
    try:
        if not schema_head.is_current(db.writer):
            from app.store.migrate import migrate  # alembic: only when there is work

            migrate(db.writer)
        db.ensure_identity()
        db.image_key = keys.image_key(path, secrets, create=create)
        if db.image_key is not None:
            sealed.remember(db.image_key)
    except (StoreError, sqlite3.Error, sqlcipher.Error):
        db.close()
        raise
    except Exception:
        db.close()
        raise
    return db
