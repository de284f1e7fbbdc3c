"""A database of the release before the search index lost its index by patient number:
its index is built again on opening, and search finds the same patients."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from app.platform.secrets import SecretStore
from app.store import keys
from app.store.db import Database, open_database
from app.store.dto import PatientFilter, Viewer
from app.store.migrate import current_revision, head_revision, migrate
from app.store.patients.patients_repo import PatientsRepo

_ZOE = "01900000-0000-7000-8000-000000000001"
_ANA = "01900000-0000-7000-8000-000000000002"


def _names(db: Database, query: str) -> list[str]:
    rows = PatientsRepo(db).search(Viewer("u", True), PatientFilter(query=query))
    return [r.first_name for r in rows]


def test_an_older_database_is_indexed_again_and_search_finds_the_same(
    tmp_path: Path, secrets_store: SecretStore
) -> None:
    path = tmp_path / "older.chairside"
    db = Database(path, keys.create_key(path, secrets_store, allow_key_file=False))
    migrate(db.writer, "0022")
    with db.writer.begin() as conn:
        for pid, num, first, last, mobile, sort in [
            (_ZOE, 1, "Zoë", "Ångström", "+46701234567", "zoe angstrom"),
            (_ANA, 2, "Ana", "Lima", "+55 11 95555 0000", "ana lima"),
        ]:
            conn.execute(text(
                "INSERT INTO patients (id, num, first_name, last_name, gender, mobile, "
                "provisional, deleted, stamps, sort_key, phone_digits) VALUES "
                "(:id, :num, :first, :last, 'female', :mobile, 0, 0, '{}', :sort, '')"),
                {"id": pid, "num": num, "first": first, "last": last, "mobile": mobile,
                 "sort": sort})
        # Terms as an older release might have folded them (marks kept): search for the
        # folded name would miss her, and these rows match no key made today.
        conn.execute(text(
            "INSERT INTO patient_terms (pfx, sort_key, num, term) VALUES "
            "('å', 'zoe angstrom', 1, 'ångström'), ('zo', 'zoe angstrom', 1, 'zoë')"))
    db.close()

    db = open_database(path, secrets_store)
    try:
        assert current_revision(db.writer) == head_revision()
        assert _names(db, "angs") == ["Zoë"]
        assert _names(db, "zoe") == ["Zoë"]
        assert _names(db, "1234567") == ["Zoë"]
        assert _names(db, "lima") == ["Ana"]
        assert _names(db, "95555") == ["Ana"]
        with db.read() as s:
            stale = s.execute(text(
                "SELECT count(*) FROM patient_terms WHERE term IN ('ångström', 'zoë')"
            )).scalar_one()
        assert stale == 0

        # An edit after the upgrade drops the old name's rows, found by their keys.
        PatientsRepo(db).update(Viewer("u", True), _ZOE, {"first_name": "Zoë",
                                                           "last_name": "Berg"})
        assert _names(db, "angs") == []
        assert _names(db, "berg") == ["Zoë"]
        assert _names(db, "1234567") == ["Zoë"]
    finally:
        db.close()
