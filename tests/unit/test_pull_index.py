"""A pull that brings many new patients (a first pull, a PC back after long) indexes
them once, at its end: the same index rows as one patient at a time, whatever was
edited meanwhile, and a pull cut short still ends with every patient searchable."""

from __future__ import annotations

import time
from typing import Any

import pytest

from app.core.ids import new_id
from app.platform.secrets import SecretStore
from app.store.db import open_database
from app.store.dto import PatientFilter
from app.store.patients import search_index
from app.store.services import Store
from app.store.sync.sync_repo import SyncRepo
from sync_agent.client import TransientError
from sync_agent.pull_job import pull_all
from sync_agent.runner import Agent
from tests.unit.store.sync.test_one_write_path import pulled

MANY = search_index.DEFER_AT + 200
FIRST = ["Zoë", "Anna", "Ólafur", "Li", "Jean-Luc", "Mary Ann", "Ömer", "Ann"]
LAST = ["Müller-Ost", "Smith", "O'Brien", "de la Cruz", "Nguyễn", "Smith"]


def people(n: int, start_ms: int) -> list[dict[str, Any]]:
    """Pulled creations of `n` patients: shared names (equal sort keys), accents,
    phones, e-mails and card numbers, a few deleted or merged on the other PC."""
    out = []
    for i in range(n):
        fields: dict[str, Any] = {
            "first_name": FIRST[i % len(FIRST)], "last_name": LAST[i % len(LAST)],
            "gender": "female", "mobile": f"+49 151 {i:07d}",
            "email": f"p{i}@example.com" if i % 3 else None,
            "card_number": f"C-{i}" if i % 4 == 0 else None,
        }
        if i % 97 == 5:
            fields["deleted"] = True
        out.append(pulled(new_id(), fields, start_ms + i))
    # Merged away there (into the first patient): no rows here either.
    out[7]["fields"]["merged_into"] = {**out[7]["fields"]["first_name"],
                                       "value": out[0]["entity_id"]}
    return out


def index_rows(store: Store) -> set[tuple[str, str, int, str]]:
    with store.db.read() as s:
        return set(s.connection().exec_driver_sql(
            "SELECT pfx, sort_key, num, term FROM patient_terms"))


def one_at_a_time(store: Store) -> set[tuple[str, str, int, str]]:
    """The index as indexing every stored patient the usual way makes it (in a
    transaction rolled back: the database keeps its own)."""
    with store.db.writer.connect() as conn, conn.begin() as tx:
        conn.exec_driver_sql("DELETE FROM patient_terms")
        columns = ", ".join(search_index.INDEXED)
        for p in conn.exec_driver_sql(f"SELECT {columns} FROM patients").mappings():
            search_index.index_new(conn, [p])
        rows = set(conn.exec_driver_sql(
            "SELECT pfx, sort_key, num, term FROM patient_terms"))
        tx.rollback()
    return rows


def found(store: Store, viewer: Any, query: str) -> set[str]:
    return {r.id for r in store.patients.search(viewer, PatientFilter(query=query), limit=5000)}


def pending(store: Store) -> int | None:
    with store.db.read() as s:
        return search_index.pending(s.connection())


def test_a_large_page_is_indexed_at_the_end_with_the_rows_of_one_at_a_time(
    store, admin, monkeypatch: pytest.MonkeyPatch
) -> None:
    # In parts, a transaction each, as a large practice's first pull is.
    monkeypatch.setattr(search_index, "ROWS_A_PART", 5_000)
    writes: list[object] = []
    write = store.db.write
    monkeypatch.setattr(store.db, "write", lambda **info: (writes.append(info), write(**info))[1])
    v = admin.viewer()
    repo = SyncRepo(store.db)
    changes = people(MANY, int(time.time() * 1000))
    repo.apply_remote(changes, 1, defer_index=True)
    assert pending(store) == 1  # noted with the patients, in their transaction
    assert found(store, v, "p10@example.com") == set()  # not yet
    writes.clear()
    assert repo.finish_index() == MANY
    assert len(writes) > 3  # parts
    assert pending(store) is None
    rows = index_rows(store)
    assert len(rows) > 20 * MANY and rows == one_at_a_time(store)
    assert found(store, v, "p10@example.com") == {changes[10]["entity_id"]}
    assert found(store, v, "151 0000123") == {changes[123]["entity_id"]}
    smiths = {c["entity_id"] for i, c in enumerate(changes)
              if i % len(LAST) in (1, 5) and i % 97 != 5 and i != 7}
    assert found(store, v, "smith") == smiths
    assert changes[5]["entity_id"] not in found(store, v, "anna")  # deleted there
    assert repo.finish_index() == 0  # nothing waits any more


def test_a_small_page_is_searchable_at_once(store, admin) -> None:
    repo = SyncRepo(store.db)
    changes = people(search_index.DEFER_AT - 1, int(time.time() * 1000))
    repo.apply_remote(changes, 1, defer_index=True)
    assert pending(store) is None
    assert found(store, admin.viewer(), "p10@example.com") == {changes[10]["entity_id"]}


def test_edits_while_unindexed_end_with_exactly_the_rows_of_the_values_stored(
    store, admin
) -> None:
    v = admin.viewer()
    repo = SyncRepo(store.db)
    start = int(time.time() * 1000)
    changes = people(MANY, start)
    ids = [c["entity_id"] for c in changes]
    repo.apply_remote(changes, 1, defer_index=True)
    # Meanwhile: an edit here, a pulled edit and a deletion, a merge here, a new patient.
    store.patients.update(v, ids[1], {"last_name": "Quartermaine", "mobile": "0700 111"})
    repo.apply_remote([pulled(ids[2], {"first_name": "Xavier", "email": "x@example.com"},
                              start + 10 * MANY),
                       pulled(ids[3], {"deleted": True}, start + 10 * MANY)], 2,
                      defer_index=True)
    store.merges.merge(v, ids[4], [ids[6]])
    mine = store.patients.create(v, {"first_name": "Yvonne", "last_name": "Quartermaine"})
    # Some of their rows are in already (what the edits added), the rest waits.
    assert found(store, v, "quartermaine") == {ids[1], mine.id}
    assert pending(store) == 1
    repo.finish_index()
    assert index_rows(store) == one_at_a_time(store)
    assert found(store, v, "quartermaine") == {ids[1], mine.id}
    assert found(store, v, "0700111") == {ids[1]}
    assert found(store, v, "xavier") == found(store, v, "x@example.com") == {ids[2]}
    assert ids[2] not in found(store, v, "anna")  # his old first name
    assert ids[3] not in found(store, v, "p3@example.com") | found(store, v, "ann")
    assert found(store, v, "p6@example.com") == set()  # merged into ids[4]
    assert found(store, v, "p4@example.com") == {ids[4]}


def test_edits_between_the_parts_of_a_build_end_with_the_rows_of_the_values_stored(
    store, admin
) -> None:
    v = admin.viewer()
    repo = SyncRepo(store.db)
    start = int(time.time() * 1000)
    changes = people(MANY, start)
    ids = [c["entity_id"] for c in changes]
    repo.apply_remote(changes, 1, defer_index=True)
    with store.db.read() as s:
        build = search_index.plan(s.connection(), 1, rows_a_part=3_000)
    build.fresh = False
    with store.db.write() as s:
        search_index.write_part(s.connection(), build, 0)
    assert len(build.parts) > 4
    # Between parts: edits here and pulled, a deletion there, a merge here.
    store.patients.update(v, ids[1], {"first_name": "Zed", "last_name": "Quartermaine"})
    repo.apply_remote([pulled(ids[2], {"first_name": "Xavier", "email": "x@example.com"},
                              start + 10 * MANY),
                       pulled(ids[3], {"deleted": True}, start + 10 * MANY)], 2)
    store.merges.merge(v, ids[4], [ids[6]])
    for part in range(1, len(build.parts)):
        with store.db.write() as s:
            search_index.write_part(s.connection(), build, part)
        if part == 2:  # and again, the same patient
            store.patients.update(v, ids[1], {"first_name": "Abel", "mobile": "0700 222"})
    with store.db.write() as s:
        search_index.done(s.connection())
    assert index_rows(store) == one_at_a_time(store)
    assert found(store, v, "quartermaine") == found(store, v, "abel quartermaine") == {ids[1]}
    assert found(store, v, "zed") == set() and found(store, v, "0700222") == {ids[1]}
    assert found(store, v, "xavier") == {ids[2]}
    assert ids[3] not in found(store, v, "p3@example.com")
    assert found(store, v, "p6@example.com") == set()


class Cloud:
    """Serves `changes` in pages, then fails at page `fail_at` (the link lost)."""

    def __init__(self, changes: list[dict[str, Any]], size: int,
                 fail_at: int | None = None) -> None:
        self.changes, self.size, self.fail_at = changes, size, fail_at

    def pull(self, after: int, limit: int, conflicts_after: int | None = None) -> dict[str, Any]:
        if self.fail_at is not None and after >= self.fail_at * self.size:
            raise TransientError("the server could not be reached")
        part = self.changes[after : after + self.size]
        cursor = after + len(part)
        return {"changes": part, "cursor": cursor, "more": cursor < len(self.changes)}

    def conflicts(self, after: int, limit: int = 200) -> dict[str, Any]:
        return {"conflicts": [], "cursor": after, "more": False}


def test_a_pull_cut_short_leaves_what_it_pulled_searchable(
    store, admin, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sync_agent.pull_job.BATCH", MANY)  # two batches, then trouble
    repo = SyncRepo(store.db)
    changes = people(3 * MANY, int(time.time() * 1000))
    with pytest.raises(TransientError):
        pull_all(repo, Cloud(changes, MANY, fail_at=2))  # type: ignore[arg-type]
    assert repo.pull_cursor() == 2 * MANY
    assert pending(store) is None and index_rows(store) == one_at_a_time(store)
    v = admin.viewer()
    assert found(store, v, f"p{2 * MANY - 1}@example.com") == {changes[2 * MANY - 1]["entity_id"]}
    assert found(store, v, f"p{2 * MANY + 1}@example.com") == set()
    pull_all(repo, Cloud(changes, MANY))  # type: ignore[arg-type]
    assert pending(store) is None and index_rows(store) == one_at_a_time(store)
    assert found(store, v, f"p{3 * MANY - 1}@example.com") == {changes[-1]["entity_id"]}


def test_after_a_crash_the_agents_start_indexes_what_was_left(
    store, admin, secrets_store: SecretStore
) -> None:
    """The agent killed between a batch and the pull's end: the note is in the
    database, and the next start of the agent (offline too) indexes the patients."""
    changes = people(MANY, int(time.time() * 1000))
    SyncRepo(store.db).apply_remote(changes, 1, defer_index=True)
    path = store.db.path
    store.db.close()
    db = open_database(path, secrets_store)
    try:
        again = Store.over(db)
        assert pending(again) == 1
        Agent(db, secrets_store, tick_s=0).tick()  # not connected to any server
        assert pending(again) is None
        assert index_rows(again) == one_at_a_time(again)
        assert found(again, admin.viewer(), "p10@example.com") == {changes[10]["entity_id"]}
    finally:
        db.close()
