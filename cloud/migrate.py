"""Schema migrations, run at start; a database newer than this server is refused."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection, Engine, text

MIGRATIONS = Path(__file__).with_name("migrations")
_PG_LOCK_KEY = 0x43484149  # advisory lock: one process migrates at a time


class SchemaTooNewError(RuntimeError):
    """The database was migrated by a newer cloud; this one must not touch it."""


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def check_not_newer(connection: Connection) -> None:
    current = current_revision(connection)
    if current is None:
        return
    script = ScriptDirectory.from_config(alembic_config())
    try:
        known = script.get_revision(current)
    except CommandError:
        known = None
    if known is None:
        raise SchemaTooNewError(
            f"the database schema ({current}) is newer than this server "
            f"(head {script.get_current_head()}); upgrade the server"
        )


def upgrade(engine: Engine) -> None:
    """Bring the database to this server's head revision."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_LOCK_KEY})
            conn.commit()
        try:
            check_not_newer(conn)
            conn.commit()
            command.upgrade(alembic_config(conn), "head")
            conn.commit()
        finally:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK_KEY})
                conn.commit()
