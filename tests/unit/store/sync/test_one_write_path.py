"""A patient written here and one pulled from the cloud go through the same functions
for their number, derived columns and search index, and come out alike."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import select

from app.core.hlc import Timestamp
from app.core.ids import new_id
from app.store.dto import PatientFilter
from app.store.models import Patient, PatientTerm
from app.store.patients import search_index
from app.store.sync.sync_repo import SyncRepo

OTHER_PC = "f" * 16
FIELDS = {"first_name": "Zoë", "last_name": "Müller-Ost", "mobile": "+49 151 2345 678",
          "email": "zoe@example.com", "gender": "female"}


def pulled(patient_id: str, fields: dict[str, Any], wall_ms: int) -> dict[str, Any]:
    hlc = str(Timestamp(wall_ms, 0, OTHER_PC))
    return {"entity": "patient", "entity_id": patient_id,
            "fields": {n: {"value": v, "hlc": hlc, "base": None} for n, v in fields.items()}}


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the shared patient functions, as each is called."""
    seen: list[str] = []
    for name in ("new_numbers", "derived", "reindex", "index_new"):
        real = getattr(search_index, name)

        def spy(*args: Any, _real: Any = real, _name: str = name) -> Any:
            seen.append(_name)
            return _real(*args)

        monkeypatch.setattr(search_index, name, spy)
    return seen


def stored(store, patient_id: str) -> tuple[int, str, str, set[str]]:
    with store.db.read() as s:
        p = s.get(Patient, patient_id)
        terms = set(s.scalars(select(PatientTerm.term).where(PatientTerm.num == p.num)))
        return p.num, p.sort_key, p.phone_digits, terms


def test_a_local_and_a_pulled_patient_take_the_same_path(store, admin, calls) -> None:
    v = admin.viewer()
    local = store.patients.create(v, FIELDS)
    assert {"new_numbers", "derived", "reindex"} <= set(calls)
    calls.clear()
    remote_id = new_id()
    SyncRepo(store.db).apply_remote([pulled(remote_id, FIELDS, int(time.time() * 1000))], 1)
    assert {"new_numbers", "derived", "index_new"} <= set(calls)

    num_l, key_l, digits_l, terms_l = stored(store, local.id)
    num_r, key_r, digits_r, terms_r = stored(store, remote_id)
    assert num_r == num_l + 1  # numbered one after the other, by the same count
    assert (key_r, digits_r, terms_r) == (key_l, digits_l, terms_l)
    assert digits_l == "491512345678" and "zoe@example.com" in terms_l
    # Both are found by every kind of query a receptionist types.
    for query in ("mull", "zoe", "2345678", "zoe@example.com", "Müller-Ost Zoë"):
        ids = {r.id for r in store.patients.search(v, PatientFilter(query=query))}
        assert ids == {local.id, remote_id}, query


def test_an_edit_pulled_or_made_here_updates_both_alike(store, admin) -> None:
    v = admin.viewer()
    local = store.patients.create(v, FIELDS)
    remote_id = new_id()
    repo = SyncRepo(store.db)
    start = int(time.time() * 1000)
    repo.apply_remote([pulled(remote_id, FIELDS, start)], 1)
    change = {"last_name": "Adler", "mobile": "0800 999"}
    store.patients.update(v, local.id, change)
    repo.apply_remote([pulled(remote_id, change, start + 1000)], 2)
    _, key_l, digits_l, terms_l = stored(store, local.id)
    _, key_r, digits_r, terms_r = stored(store, remote_id)
    assert (key_r, digits_r, terms_r) == (key_l, digits_l, terms_l)
    assert not any("muller" in t for t in terms_l)  # the old name is out of the index
    ids = {r.id for r in store.patients.search(v, PatientFilter(query="adler"))}
    assert ids == {local.id, remote_id}
    assert store.patients.search(v, PatientFilter(query="müller")) == []


def test_a_pulled_edit_rewrites_the_index_rows_only_when_an_indexed_field_changed(
    store, admin, monkeypatch: pytest.MonkeyPatch
) -> None:
    v = admin.viewer()
    repo = SyncRepo(store.db)
    remote_id = new_id()
    start = int(time.time() * 1000)
    repo.apply_remote([pulled(remote_id, FIELDS, start)], 1)
    rewritten: list[list[str]] = []
    reindex = search_index.reindex

    def spy(conn: Any, changes: Any) -> None:
        changes = list(changes)  # (stored values, new values) of each patient
        rewritten.append([new["id"] for _stored, new in changes])
        reindex(conn, changes)

    monkeypatch.setattr(search_index, "reindex", spy)
    repo.apply_remote([pulled(remote_id, {"note": "Prefers mornings"}, start + 1)], 2)
    assert rewritten == [[]]  # a note: the index rows stay as they were
    repo.apply_remote([pulled(remote_id, {"last_name": "Adler", "note": "x"}, start + 2)], 3)
    assert rewritten[-1] == [remote_id]
    for query, found in (("adler", {remote_id}), ("mull", set()), ("zoe", {remote_id})):
        assert {r.id for r in store.patients.search(v, PatientFilter(query=query))} == found
