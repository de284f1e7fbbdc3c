"""Merging duplicate patients by hand, and undoing the merge."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.store.dto import PatientFilter
from app.store.errors import StoreError
from app.store.models import MergeMove, OutboxMutation, Patient, PatientMerge


@pytest.fixture
def dupes(store, admin):
    v = admin.viewer()
    kept = store.patients.create(v, {"first_name": "Maria", "last_name": "Silva",
                                     "birth_date": "1980-04-02", "mobile": "+351 912 345 678"})
    twin = store.patients.create(v, {"first_name": "María", "last_name": "SILVA",
                                     "birth_date": "1980-04-02", "allergies": "Penicillin"})
    phone = store.patients.create(v, {"first_name": "M.", "last_name": "Costa",
                                      "mobile": "+351912345678"})
    store.patients.create(v, {"first_name": "Pedro", "last_name": "Nunes"})
    for p, day in ((twin, 3), (twin, 4), (phone, 5)):
        store.records.add_visit(v, p.id, {"visit_date": f"2026-10-0{day}", "procedure": "Scale"})
    agreement = store.records.add_agreement(v, twin.id, {"title": "Crown", "total": Decimal(500)})
    store.records.add_payment(v, agreement, "2026-10-03", Decimal(100))
    store.records.add_appointment(v, phone.id, dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC), 30)
    return kept, twin, phone


def test_similar_patients_are_ranked_by_the_matching_rules(store, admin, dupes) -> None:
    kept, twin, phone = dupes
    found = store.merges.similar(admin.viewer(), kept.id)
    assert [(s.id, s.reason) for s in found] == [
        (twin.id, "same first name, last name and date of birth"),
        (phone.id, "same mobile phone"),
    ]
    # A search by name finds others too; the alike first.
    searched = store.merges.similar(admin.viewer(), kept.id, "pedro")
    assert [(s.name, s.reason) for s in searched] == [("Pedro Nunes", "")]


def test_merge_moves_every_row_and_keeps_the_profiles(store, admin, dupes) -> None:
    v = admin.viewer()
    kept, twin, phone = dupes
    ticket = store.tickets.create(v, twin.id, {"scan_type": "face"})
    assert store.merges.preview(v, kept.id, [twin.id, phone.id]) == {
        "records": 3, "appointments": 1, "payments": 1, "agreements": 1, "images": 0,
        "notes": 0, "cases": 0, "scan tickets": 1}
    # What stays on a merged profile is named before the merge.
    assert store.merges.left_behind(v, kept.id, [twin.id, phone.id]) == [
        ("María SILVA", "Allergies", "Penicillin")]
    merge_id = store.merges.merge(v, kept.id, [twin.id, phone.id])
    assert len(store.records.visits(v, kept.id)) == 3
    assert len(store.records.appointments(v, kept.id)) == 1
    assert [a.title for a in store.records.agreements(v, kept.id)] == ["Crown"]
    with store.db.read() as s:
        merged = {p.id: p.merged_into for p in s.scalars(select(Patient))}
        moves = list(s.scalars(select(MergeMove).where(MergeMove.merge_id == merge_id)))
        queued = {m.entity for m in s.scalars(select(OutboxMutation))}
    assert merged[twin.id] == kept.id and merged[phone.id] == kept.id
    assert len(moves) == 7
    assert [t.id for t in store.tickets.for_patient(v, kept.id)] == [ticket.id]
    assert {"patient_merge", "merge_move", "visit", "payment"} <= queued
    # Merged profiles leave the list, but are kept.
    listed = [r.id for r in store.patients.search(v, PatientFilter(query="silva"))]
    assert listed == [kept.id]
    [row] = store.merges.merges(v, kept.id)
    assert row.moved == 7 and set(row.merged_names) == {"María SILVA", "M. Costa"}
    with pytest.raises(StoreError):
        store.merges.merge(v, kept.id, [twin.id])


def test_undo_puts_every_row_back(store, admin, dupes) -> None:
    v = admin.viewer()
    kept, twin, phone = dupes
    own = store.records.add_visit(v, kept.id, {"visit_date": "2026-09-01"})
    merge_id = store.merges.merge(v, kept.id, [twin.id, phone.id])
    later = store.records.add_visit(v, kept.id, {"visit_date": "2026-11-01"})
    assert store.ledger.account(v, kept.id).paid == Decimal(100)
    assert store.merges.undo(v, merge_id) == 6
    assert store.ledger.account(v, kept.id).paid == 0
    assert store.ledger.account(v, twin.id).paid == Decimal(100)
    assert {r.id for r in store.records.visits(v, kept.id)} == {own.id, later.id}
    assert len(store.records.visits(v, twin.id)) == 2
    assert len(store.records.visits(v, phone.id)) == 1
    assert len(store.records.appointments(v, phone.id)) == 1
    assert [a.title for a in store.records.agreements(v, twin.id)] == ["Crown"]
    assert store.merges.merges(v, kept.id) == []
    listed = {r.id for r in store.patients.search(v, PatientFilter(query="silva"))}
    assert listed == {kept.id, twin.id}
    with pytest.raises(StoreError):
        store.merges.undo(v, merge_id)


def test_a_merge_older_than_thirty_days_can_not_be_undone(store, admin, dupes) -> None:
    v = admin.viewer()
    kept, twin, _ = dupes
    merge_id = store.merges.merge(v, kept.id, [twin.id])
    with store.db.write() as s:
        s.get(PatientMerge, merge_id).merged_at = "2026-01-01T00:00:00+00:00"
    assert store.merges.merges(v, kept.id) == []
    with pytest.raises(StoreError, match="30 days"):
        store.merges.undo(v, merge_id)


def test_a_merge_is_undone_only_once_all_its_moves_arrived(store, admin, dupes) -> None:
    v = admin.viewer()
    kept, twin, phone = dupes
    merge_id = store.merges.merge(v, kept.id, [twin.id, phone.id])
    # As on a PC that pulled the merge and only part of its moves so far.
    with store.db.writer.begin() as conn:
        conn.exec_driver_sql(
            "DELETE FROM merge_moves WHERE id = (SELECT id FROM merge_moves WHERE merge_id = ?"
            " LIMIT 1)", (merge_id,))
    with pytest.raises(StoreError, match="Synchronize"):
        store.merges.undo(v, merge_id)
    assert len(store.records.visits(v, kept.id)) == 3  # nothing half undone
