from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from app.platform.secrets import SecretStore
from app.store import keys
from app.store.db import open_database
from app.store.errors import (
    DatabaseTooNewError,
    InsecureKeyringError,
    MissingKeyError,
    WrongKeyError,
)
from app.store.migrate import current_revision, head_revision, migrate
from tests.support.memkeyring import MemoryKeyring


class InsecureKeyring(MemoryKeyring):
    priority = 0  # type: ignore[assignment]


def test_new_database_is_encrypted_wal_and_full_sync(
    tmp_path: Path, secrets_store: SecretStore
) -> None:
    path = tmp_path / "new.chairside"
    db = open_database(path, secrets_store)
    with db.writer.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    assert current_revision(db.writer) == head_revision()
    db.close()
    # Without the key, the file is noise: plain SQLite cannot read it.
    plain = create_engine(f"sqlite:///{path}")
    with pytest.raises(Exception, match="not a database"), plain.connect() as conn:
        conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar()
    assert b"SQLite format 3" not in path.read_bytes()[:16]


def test_wrong_key_gives_a_clear_message(db_path: Path, secrets_store: SecretStore) -> None:
    secrets_store.set(keys._slot(db_path), "00" * 32)
    with pytest.raises(WrongKeyError, match="cannot be opened"):
        open_database(db_path, secrets_store)


def test_missing_key_gives_a_clear_message(db_path: Path, secrets_store: SecretStore) -> None:
    secrets_store.delete(keys._slot(db_path))
    with pytest.raises(MissingKeyError, match="key is not on this computer"):
        open_database(db_path, secrets_store)


def test_insecure_keyring_asks_before_a_key_file(tmp_path: Path) -> None:
    weak = SecretStore(InsecureKeyring())
    path = tmp_path / "weak.chairside"
    with pytest.raises(InsecureKeyringError, match="no secure keyring"):
        open_database(path, weak)
    assert not path.exists() or path.stat().st_size == 0
    db = open_database(path, weak, allow_key_file=True)
    db.close()
    kf = keys.key_file_path(path)
    assert kf.stat().st_mode & 0o077 == 0  # readable by the user alone
    open_database(path, weak).close()  # the key file opens it again


def test_database_newer_than_the_program_is_refused(
    db_path: Path, secrets_store: SecretStore
) -> None:
    db = open_database(db_path, secrets_store)
    with db.writer.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    db.close()
    with pytest.raises(DatabaseTooNewError, match="newer version of Chairside"):
        open_database(db_path, secrets_store)


def test_migrates_from_the_previous_revision_keeping_data(
    tmp_path: Path, secrets_store: SecretStore
) -> None:
    """A 0001 database with a patient in it upgrades, and the patient can be found."""
    from app.store.db import Database
    from app.store.dto import PatientFilter, Viewer
    from app.store.patients.patients_repo import PatientsRepo

    path = tmp_path / "old.chairside"
    key = keys.create_key(path, secrets_store, allow_key_file=False)
    db = Database(path, key)
    migrate(db.writer, "0001")
    assert current_revision(db.writer) == "0001"
    with db.writer.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO patients (id, num, first_name, last_name, gender, mobile, "
                "provisional, "
                "deleted, stamps) VALUES ('01900000-0000-7000-8000-000000000001', 1, 'Zoë', "
                "'Ångström', 'female', '+46701234567', 0, 0, '{}')"
            )
        )
    db.close()
    db = open_database(path, secrets_store)
    assert current_revision(db.writer) == head_revision()
    rows = PatientsRepo(db).search(Viewer("u", True), PatientFilter(query="angs"))
    assert [r.first_name for r in rows] == ["Zoë"]
    rows = PatientsRepo(db).search(Viewer("u", True), PatientFilter(query="1234567"))
    assert [r.last_name for r in rows] == ["Ångström"]
    db.close()


def test_downgrade_and_upgrade_again(tmp_path: Path, secrets_store: SecretStore) -> None:
    from alembic import command

    from app.store.migrate import config

    db = open_database(tmp_path / "x.chairside", secrets_store)
    with db.writer.begin() as conn:
        cfg = config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert current_revision(db.writer) is None
    migrate(db.writer)
    assert current_revision(db.writer) == head_revision()
    db.close()


def test_migrations_create_exactly_the_models(tmp_path: Path, secrets_store: SecretStore) -> None:
    """Every schema change goes through a migration: nothing in the models is missing."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from app.store.models import Base

    db = open_database(tmp_path / "m.chairside", secrets_store)
    with db.writer.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    db.close()
    assert diff == []


def _fill_the_disk(db: object) -> None:
    """SQLite's own limit on the file's pages: the next page it needs is refused as a
    full disk would refuse it (SQLITE_FULL), on the connection the writes use."""
    with db.writer.connect() as conn:  # type: ignore[attr-defined]
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
        conn.exec_driver_sql(f"PRAGMA max_page_count = {pages}")


def test_a_full_disk_is_the_stores_own_error_in_plain_words(store, admin) -> None:
    from app.store.dto import PatientFilter
    from app.store.errors import DiskFullError

    viewer = admin.viewer()
    before = store.patients.count(viewer, PatientFilter())
    _fill_the_disk(store.db)
    with pytest.raises(DiskFullError) as caught:
        for n in range(200):
            store.patients.create(
                viewer, {"first_name": f"Ada{n}", "last_name": "Lovelace", "note": "x" * 3000}
            )
    assert str(caught.value) == "The disk is full: nothing was saved; free space and try again."
    assert not caught.value.read_only
    saved = store.patients.count(viewer, PatientFilter()) - before
    # Whatever fitted was saved whole; the refused patient was not saved at all.
    rows = store.patients.search(viewer, PatientFilter(), limit=500)
    names = {p.first_name for p in rows}
    assert f"Ada{saved}" not in names and len(rows) == before + saved


def test_a_read_only_database_says_so(tmp_path: Path, secrets_store: SecretStore) -> None:
    from app.store.errors import DiskFullError

    path = tmp_path / "ro.chairside"
    open_database(path, secrets_store).close()
    db = open_database(path, secrets_store)
    with db.writer.connect() as conn:
        conn.exec_driver_sql("PRAGMA query_only = ON")
    try:
        with pytest.raises(DiskFullError, match="cannot be written") as caught, db.write() as s:
            s.execute(text("UPDATE sync_state SET remote_version = remote_version + 1"))
        assert caught.value.read_only
    finally:
        db.close()


def test_none_and_yes_no_values_are_stored_as_null_and_one_or_zero(store, admin) -> None:
    """What the driver stores for None and bool, through the ORM and straight through
    the driver (a pulled page's rows), whichever way it is told to bind them."""
    store.patients.create(admin.viewer(), {"first_name": "Ann", "email": None})
    with store.db.write() as s:
        conn = s.connection()
        conn.exec_driver_sql("CREATE TEMP TABLE bound (a, b, c)")
        conn.exec_driver_sql("INSERT INTO temp.bound VALUES (?, ?, ?)",
                             [(None, True, False), (None, False, True)])
        assert conn.exec_driver_sql(
            "SELECT a IS NULL, typeof(b), b, typeof(c), c FROM temp.bound ORDER BY b"
        ).all() == [(1, "integer", 0, "integer", 1), (1, "integer", 1, "integer", 0)]
        assert conn.exec_driver_sql(
            "SELECT email IS NULL, typeof(deleted), deleted FROM patients"
        ).one() == (1, "integer", 0)
