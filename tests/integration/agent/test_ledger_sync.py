"""Payments across PCs: two PCs apart each take a payment from the same patient; after
sync every PC, and the cloud (seen by a PC that only reads it), holds both payments and
the same balance. A void made on one PC reaches the others."""

from __future__ import annotations

from decimal import Decimal


def _account(pc, patient_id: str):
    acc = pc.store.ledger.account(pc.admin.viewer(), patient_id)
    pays = sorted(
        (e.amount, e.method, e.taken_by_name, e.void_reason)
        for e in acc.entries
        if e.kind == "payment"
    )
    return acc.balance, pays


def test_payments_taken_apart_on_two_pcs_both_count(clinic) -> None:
    a, b, reader = clinic(3)
    va, vb = a.admin.viewer(), b.admin.viewer()
    p = a.store.patients.create(va, {"first_name": "Nadia", "last_name": "Khoury"})
    a.store.records.add_visit(va, p.id, {"visit_date": "2026-12-03", "charge": Decimal("500")})
    a.sync()
    b.sync()
    assert b.store.ledger.account(vb, p.id).balance == Decimal("500.00")
    # Apart: each PC sees 500.00 owed and takes a payment.
    cash = a.store.ledger.take_payment(va, p.id, "2026-12-03", Decimal("120.00"), "cash")
    b.store.ledger.take_payment(vb, p.id, "2026-12-03", Decimal("80.55"), "card")
    for pc in (a, b, a, reader):
        pc.sync()
    expected = (
        Decimal("299.45"),
        [
            (Decimal("80.55"), "card", "Admin 1", None),
            (Decimal("120.00"), "cash", "Admin 0", None),
        ],
    )
    assert [_account(pc, p.id) for pc in (a, b, reader)] == [expected] * 3

    b.store.ledger.void_payment(vb, cash, "Paid by the insurer instead")
    for pc in (b, a, reader):
        pc.sync()
    for pc in (a, b, reader):
        balance, pays = _account(pc, p.id)
        assert balance == Decimal("419.45")
        assert (Decimal("120.00"), "cash", "Admin 0", "Paid by the insurer instead") in pays
    assert a.repo.outbox_counts() == (0, 0) and b.repo.outbox_counts() == (0, 0)
