"""Scan tickets across PCs: one made at the front desk shows on the PC by the scanner,
and its status set there comes back."""

from __future__ import annotations


def test_ticket_made_on_one_pc_shows_on_the_other_with_its_status(clinic) -> None:
    a, b = clinic(2)
    va, vb = a.admin.viewer(), b.admin.viewer()
    nadia = a.store.patients.create(va, {"first_name": "Nadia", "last_name": "Khoury"})
    ticket = a.store.tickets.create(va, nadia.id, {
        "scan_type": "intraoral", "case_type": "Orthodontics", "visit_type": "First visit",
        "doctor_id": va.user_id, "note": "Upper and lower jaw"})
    a.sync()
    b.sync()
    [seen] = b.store.tickets.for_patient(vb, nadia.id)
    assert (seen.id, seen.scan_type, seen.case_type, seen.visit_type, seen.doctor_id,
            seen.note, seen.status) == (ticket.id, "intraoral", "Orthodontics", "First visit",
                                        va.user_id, "Upper and lower jaw", "open")
    b.store.tickets.set_status(vb, ticket.id, "scanned")
    b.sync()
    a.sync()
    [back] = a.store.tickets.for_patient(va, nadia.id)
    assert back.status == "scanned" and back.status_at is not None
    assert a.repo.outbox_counts() == (0, 0) and b.repo.outbox_counts() == (0, 0)
