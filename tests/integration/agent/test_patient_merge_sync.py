"""A merge of duplicate patients travels through a real cloud, loses nothing that a PC
offline meanwhile did to the merged profile, and its undo travels too."""

from __future__ import annotations

from app.store.dto import PatientFilter
from tests.integration.agent.test_convergence import snapshot


def _visits(pc, patient_id: str) -> dict[str, str | None]:
    return {v.visit_date: v.notes for v in pc.store.records.visits(pc.admin.viewer(), patient_id)}


def test_an_offline_edit_of_the_merged_patient_ends_on_the_kept_one(clinic) -> None:
    a, b, c = clinic(3)
    va = a.admin.viewer()
    kept = a.store.patients.create(va, {"first_name": "Ines", "last_name": "Moura",
                                        "birth_date": "1975-06-01"})
    twin = a.store.patients.create(va, {"first_name": "Inês", "last_name": "Moura",
                                        "birth_date": "1975-06-01"})
    first = a.store.records.add_visit(va, twin.id, {"visit_date": "2026-10-01"})
    a.sync()
    b.sync()
    # B is offline: it writes a note on the twin's record, adds a record to the twin
    # and edits the twin's details, while A merges the twin into the kept patient.
    vb = b.admin.viewer()
    b.store.records.update_visit(vb, first.id, {"notes": "Sensitive on 36"})
    b.store.records.add_visit(vb, twin.id, {"visit_date": "2026-10-02", "notes": "Check-up"})
    b.store.patients.update(vb, twin.id, {"allergies": "Latex"})
    a.store.merges.merge(va, kept.id, [twin.id])
    a.sync()
    b.sync()
    a.sync()
    c.sync()  # a PC that knew nothing: what the cloud holds
    for pc in (a, b, c):
        v = pc.admin.viewer()
        assert _visits(pc, kept.id) == {"2026-10-01": "Sensitive on 36",
                                        "2026-10-02": "Check-up"}, pc.name
        listed = [r.id for r in pc.store.patients.search(v, PatientFilter(query="moura"))]
        assert listed == [kept.id], pc.name
        assert [m.merged_names for m in pc.store.merges.merges(v, kept.id)] == [
            ("Inês Moura",)], pc.name
    assert snapshot(a.store) == snapshot(b.store) == snapshot(c.store)

    # B undoes the merge; every PC gets the twin back with what was his.
    [merge] = b.store.merges.merges(vb, kept.id)
    b.store.merges.undo(vb, merge.id)
    b.sync()
    a.sync()
    c.sync()
    for pc in (a, b, c):
        v = pc.admin.viewer()
        assert _visits(pc, twin.id) == {"2026-10-01": "Sensitive on 36",
                                        "2026-10-02": "Check-up"}, pc.name
        assert _visits(pc, kept.id) == {}, pc.name
        assert pc.store.patients.get(v, twin.id).get("allergies") == "Latex", pc.name
        assert pc.store.merges.merges(v, kept.id) == [], pc.name
    assert snapshot(a.store) == snapshot(b.store) == snapshot(c.store)
