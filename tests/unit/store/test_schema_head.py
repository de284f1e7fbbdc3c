"""Opening a database at the newest schema skips Alembic; any other goes through it."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.store import migrate, schema_head
from app.store.db import open_database
from app.store.errors import DatabaseTooNewError


def test_the_scripts_name_the_same_newest_revision_as_alembic() -> None:
    assert schema_head.newest_revision() == migrate.head_revision()


def test_a_database_of_a_later_release_is_still_refused(
    tmp_path: Path, secrets_store: object
) -> None:
    path = tmp_path / "practice.chairside"
    db = open_database(path, secrets_store)  # type: ignore[arg-type]
    assert schema_head.is_current(db.writer)
    with db.writer.begin() as conn:  # as a later release would leave it
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    assert not schema_head.is_current(db.writer)
    db.close()
    with pytest.raises(DatabaseTooNewError):
        open_database(path, secrets_store)  # type: ignore[arg-type]
