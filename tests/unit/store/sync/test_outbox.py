from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from app.core.wire import Mutation
from app.store.errors import HardDeleteError, StoreError
from app.store.models import MODEL_BY_ENTITY, OutboxMutation, Patient, SyncState


def outbox(store) -> list[OutboxMutation]:
    """The queued changes of patient data (the `admin` fixture's creation is queued too:
    users are synced; see test_users.py)."""
    with store.db.read() as s:
        return list(s.scalars(
            select(OutboxMutation).where(OutboxMutation.entity != "user")
            .order_by(OutboxMutation.seq)
        ))


def test_every_change_queues_a_valid_mutation(store, admin) -> None:
    v = admin.viewer()
    p = store.patients.create(v, {"first_name": "Ana", "last_name": "Lima", "mobile": "555 1234"})
    store.patients.update(v, p.id, {"email": "ana@example.com"})
    store.records.add_visit(v, p.id, {"visit_date": "2026-11-20", "amount_paid": Decimal("50")})
    rows = outbox(store)
    assert [(r.entity, r.entity_id == p.id) for r in rows] == [
        ("patient", True),
        ("patient", True),
        ("visit", False),
    ]
    muts = [Mutation.from_wire(r.payload) for r in rows]
    assert muts[2].fields["amount_paid"] == "50.00"
    assert muts[1].fields == {"email": "ana@example.com"}
    # The edit was made on top of the creation: its base is the creation's stamp.
    assert muts[1].base["email"] == muts[0].hlc["email"]
    assert muts[1].hlc["email"] > muts[0].hlc["email"]
    assert all(r.patient_id == p.id for r in rows)
    with store.db.read() as s:
        assert s.get(SyncState, 1).last_hlc == muts[2].hlc["visit_date"]


def test_a_failed_change_leaves_no_mutation(store, admin) -> None:
    v = admin.viewer()
    p = store.patients.create(v, {"first_name": "Ana"})
    before = len(outbox(store))
    with pytest.raises(RuntimeError), store.db.write() as s:
        s.get(Patient, p.id).note = "half-way"
        s.flush()  # the mutation is written ...
        raise RuntimeError("power cut")  # ... and rolled back with the change
    assert len(outbox(store)) == before
    assert store.patients.get(v, p.id).get("note") is None


def test_a_mutation_never_exists_without_its_change(store, admin) -> None:
    """Every queued mutation describes values that are in the database."""
    v = admin.viewer()
    p = store.patients.create(v, {"first_name": "Ana"})
    store.patients.update(v, p.id, {"note": "allergic to latex"})
    with store.db.read() as s:
        for row in s.scalars(select(OutboxMutation)):
            m = Mutation.from_wire(row.payload)
            obj = s.get(MODEL_BY_ENTITY[m.entity], m.entity_id)
            assert obj is not None
            for name, stamp in m.hlc.items():
                assert obj.stamps[name][0] >= stamp


def test_invalid_data_cannot_slip_into_the_outbox(store, admin) -> None:
    with pytest.raises(Exception, match=r"patient\.gender"), store.db.write() as s:
        s.add(Patient(first_name="X", gender="dragon"))
    assert outbox(store) == []
    with store.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Patient)) == 0


def test_hard_delete_and_bulk_update_are_refused(store, admin) -> None:
    p = store.patients.create(admin.viewer(), {"first_name": "Ana"})
    with pytest.raises(HardDeleteError), store.db.write() as s:
        s.delete(s.get(Patient, p.id))
    with pytest.raises(StoreError, match="one by one"), store.db.write() as s:
        s.execute(update(Patient).values(note="sneaky"))
    store.patients.tombstone(admin.viewer(), p.id)
    assert outbox(store)[-1].payload["fields"] == {"deleted": True}


def test_remote_apply_is_not_queued_again(store, admin) -> None:
    with store.db.write(remote_apply=True) as s:
        s.add(Patient(first_name="From", last_name="Elsewhere", stamps={}))
    assert outbox(store) == []
    from app.store.dto import PatientFilter

    rows = store.patients.search(admin.viewer(), PatientFilter(query="elsew"))
    assert [r.first_name for r in rows] == ["From"]
