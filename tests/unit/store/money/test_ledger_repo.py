"""A patient's account in the store: payments are entries of their own, voided with a
reason or corrected by a new entry, and synced like every record."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.store.models import OutboxMutation, Payment
from app.store.patients.records_repo import InvalidRecordError, OverpaymentError


@pytest.fixture
def ana(store, admin):
    v = admin.viewer()
    p = store.patients.create(v, {"first_name": "Ana", "last_name": "Lima"})
    for day, name, charge in (("2026-11-02", "Crown", "450"), ("2026-11-09", "Clean", "80.50")):
        store.records.add_visit(
            v, p.id, {"visit_date": day, "name": name, "charge": Decimal(charge)}
        )
    return p


def test_account_balance_voids_and_corrections(store, admin, ana) -> None:
    v = admin.viewer()
    acc = store.ledger.account(v, ana.id)
    assert (acc.charged, acc.paid, acc.balance) == (Decimal("530.50"), 0, Decimal("530.50"))

    first = store.ledger.take_payment(v, ana.id, "2026-11-09", Decimal("100.25"), "card")
    wrong = store.ledger.take_payment(v, ana.id, "2026-11-10", Decimal("30.00"), "cash")
    store.ledger.void_payment(v, first, "Card declined")
    fixed = store.ledger.correct_payment(v, wrong, Decimal("300.00"), "cash", "2026-11-10", "typo")

    acc = store.ledger.account(v, ana.id)
    assert acc.paid == Decimal("300.00")
    assert acc.balance == Decimal("230.50")
    pays = {e.id: e for e in acc.entries if e.kind == "payment"}
    assert set(pays) == {first, wrong, fixed}  # nothing deleted
    assert pays[first].void_reason == "Card declined"
    assert pays[wrong].void_reason == "Corrected: typo"
    assert pays[fixed].corrects == wrong and pays[fixed].taken_by_name == "Dr Admin"
    with pytest.raises(InvalidRecordError):
        store.ledger.void_payment(v, first, "again")
    with pytest.raises(InvalidRecordError):
        store.ledger.void_payment(v, fixed, "  ")


def test_overpaying_asks_and_the_excess_is_credit(store, admin, ana) -> None:
    v = admin.viewer()
    with pytest.raises(OverpaymentError) as asked:
        store.ledger.take_payment(v, ana.id, "2026-11-10", Decimal("600.00"), "transfer")
    assert "69.50 more than the 530.50" in str(asked.value)
    assert store.ledger.account(v, ana.id).paid == 0  # nothing taken until confirmed
    store.ledger.take_payment(
        v, ana.id, "2026-11-10", Decimal("600.00"), "transfer", allow_excess=True
    )
    acc = store.ledger.account(v, ana.id)
    assert (acc.balance, acc.credit) == (Decimal("-69.50"), Decimal("69.50"))


def test_agreement_paid_counts_only_valid_payments(store, admin, ana) -> None:
    v = admin.viewer()
    a = store.records.add_agreement(
        v, ana.id,
        {"title": "Braces", "total": Decimal("3000"), "discount": Decimal(0), "tax": Decimal(0)},
    )
    p1 = store.ledger.take_payment(v, ana.id, "2026-11-10", Decimal("1000"), agreement_id=a)
    store.records.add_payment(v, a, "2026-11-11", Decimal("500.00"))
    store.ledger.void_payment(v, p1, "Wrong patient")
    row = store.records.agreements(v, ana.id, today=dt.date(2026, 11, 30))[0]
    assert (row.paid, row.remaining) == (Decimal("500.00"), Decimal("2500.00"))
    with pytest.raises(OverpaymentError):
        store.ledger.take_payment(v, ana.id, "2026-11-12", Decimal("2500.01"), agreement_id=a)


def test_diary_total_is_the_days_valid_payments(store, admin, ana) -> None:
    v = admin.viewer()
    keep = store.ledger.take_payment(v, ana.id, "2026-11-10", Decimal("40.10"), "card")
    gone = store.ledger.take_payment(v, ana.id, "2026-11-10", Decimal("99.00"), "cash")
    store.ledger.void_payment(v, gone, "Entered twice")
    store.ledger.take_payment(v, ana.id, "2026-11-11", Decimal("5.00"), "cash")
    day = store.diary.day(v, dt.date(2026, 11, 10))
    assert [(p.id, p.amount, p.method) for p in day.payments] == [
        (keep, Decimal("40.10"), "card")
    ]
    assert day.total_paid == Decimal("40.10")


def test_payments_and_their_voids_go_to_the_outbox(store, admin, ana) -> None:
    v = admin.viewer()
    p = store.ledger.take_payment(v, ana.id, "2026-11-10", Decimal("12.34"), "card")
    store.ledger.void_payment(v, p, "Refunded")
    with store.db.read() as s:
        sent = [
            m.payload["fields"]
            for m in s.scalars(
                select(OutboxMutation)
                .where(OutboxMutation.entity == "payment", OutboxMutation.entity_id == p)
                .order_by(OutboxMutation.seq)
            )
        ]
    # Decimal text on the wire: exact, and never a float or minor units.
    assert sent[0]["amount"] == "12.34" and sent[0]["patient_id"] == ana.id
    assert sent[0]["method"] == "card" and sent[0]["taken_by"] == v.user_id
    assert sent[-1]["void_reason"] == "Refunded"


def test_payments_from_before_the_ledger_join_their_patients_account(tmp_path) -> None:
    """A database whose payments were all against agreements upgrades: each payment
    belongs to its agreement's patient and counts in the account."""
    from app.platform.secrets import SecretStore
    from app.store import keys
    from app.store.db import Database, open_database
    from app.store.dto import Viewer
    from app.store.migrate import migrate
    from app.store.services import Store
    from tests.conftest import _KEYRING

    path = tmp_path / "old.chairside"
    key = keys.create_key(path, SecretStore(_KEYRING), allow_key_file=False)
    db = Database(path, key)
    migrate(db.writer, "0010")
    v = Viewer("u", True)
    pid, ag = "01900000-0000-7000-8000-000000000001", "01900000-0000-7000-8000-000000000002"
    with db.writer.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO patients (id, num, first_name, last_name, gender, provisional, "
            "deleted, stamps) VALUES (?, 1, 'Ana', 'Lima', 'female', 0, 0, '{}')",
            (pid,),
        )
        conn.exec_driver_sql(
            "INSERT INTO agreements (id, stamps, deleted, patient_id, title, total, discount, "
            "tax) VALUES (?, '{}', 0, ?, 'Braces', 100000, 0, 0)",
            (ag, pid),
        )
        conn.exec_driver_sql(
            "INSERT INTO payments (id, stamps, deleted, agreement_id, paid_on, amount) "
            "VALUES ('01900000-0000-7000-8000-0000000000aa', '{}', 0, ?, '2026-01-05', 25000)",
            (ag,),
        )
    db.close()
    db = open_database(path, SecretStore(_KEYRING))
    try:
        acc = Store.over(db).ledger.account(v, pid)
        assert acc.paid == Decimal("250.00")
        assert [e.label for e in acc.entries] == ["On Braces"]
        assert Store.over(db).records.agreements(v, pid)[0].remaining == Decimal("750.00")
        with db.read() as s:
            assert s.get(Payment, "01900000-0000-7000-8000-0000000000aa").patient_id == pid
    finally:
        db.close()
