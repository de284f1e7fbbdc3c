"""A practice database written before money was decimal text opens: its amounts, the
changes it still had to send and the concurrent edits it kept all read as exact amounts
and travel as decimal text."""

from __future__ import annotations

import json
from decimal import Decimal

from sqlalchemy import select

from app.core.wire import Mutation
from app.store.models import ConflictRecord, OutboxMutation

PID = "01900000-0000-7000-8000-000000000001"
AG = "01900000-0000-7000-8000-000000000002"
PAY = "01900000-0000-7000-8000-0000000000aa"
VISIT = "01900000-0000-7000-8000-0000000000bb"
H1 = "1700000000000-0000-aaaaaaaaaaaaaaaa"
H2 = "1700000000001-0000-bbbbbbbbbbbbbbbb"


def test_a_database_with_minor_units_opens_with_exact_amounts(tmp_path) -> None:
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
    migrate(db.writer, "0014")  # the schema before decimal text
    queued = {
        "id": "01900000-0000-7000-8000-0000000000cc", "entity": "payment", "entity_id": PAY,
        "node": "aaaaaaaaaaaaaaaa", "fields": {"amount": 25005, "paid_on": "2026-01-05"},
        "hlc": {"amount": H1, "paid_on": H1}, "base": {"amount": None, "paid_on": None},
    }
    with db.writer.begin() as conn:
        sql = conn.exec_driver_sql
        sql("INSERT INTO patients (id, num, first_name, last_name, gender, provisional, "
            "deleted, stamps) VALUES (?, 1, 'Ana', 'Lima', 'female', 0, 0, '{}')", (PID,))
        sql("INSERT INTO agreements (id, stamps, deleted, patient_id, title, total, discount, "
            "tax) VALUES (?, '{}', 0, ?, 'Braces', 100000, 1050, 99)", (AG, PID))
        sql("INSERT INTO payments (id, stamps, deleted, agreement_id, patient_id, paid_on, "
            "amount, method) VALUES (?, '{}', 0, ?, ?, '2026-01-05', 25005, 'cash')",
            (PAY, AG, PID))
        sql("INSERT INTO visits (id, stamps, deleted, patient_id, visit_date, amount_paid, "
            "charge) VALUES (?, '{}', 0, ?, '2026-01-05', -5, 45000)", (VISIT, PID))
        sql("INSERT INTO outbox (mutation_id, entity, entity_id, patient_id, payload, "
            "created_at, attempts, status) VALUES (?, 'payment', ?, ?, ?, "
            "'2026-01-05T10:00:00+00:00', 0, 'pending')",
            (queued["id"], PAY, PID, json.dumps(queued)))
        # One a person settled here (open ones are copied again from the cloud).
        sql("INSERT INTO conflicts (key, entity, entity_id, field, winner_value, winner_hlc, "
            "loser_value, loser_hlc, found_at, resolved_at, resolution) VALUES ('k1', "
            "'agreement', ?, 'total', '100000', ?, '90000', ?, '2026-01-05T10:00:00+00:00', "
            "'2026-01-06T10:00:00+00:00', 'kept')", (AG, H2, H1))
    db.close()

    db = open_database(path, SecretStore(_KEYRING))
    try:
        store, v = Store.over(db), Viewer("u", True)
        [agreement] = store.records.agreements(v, PID)
        assert (agreement.total, agreement.discount, agreement.tax) == (
            Decimal("1000.00"), Decimal("10.50"), Decimal("0.99"))
        assert agreement.paid == Decimal("250.05")
        assert agreement.remaining == Decimal("740.44")
        [visit] = store.records.visits(v, PID)
        assert (visit.amount_paid, visit.charge) == (Decimal("-0.05"), Decimal("450.00"))
        with db.read() as s:
            [row] = s.scalars(select(OutboxMutation))
            sent = Mutation.from_wire(row.payload)
            assert row.payload["fields"]["amount"] == "250.05" == sent.fields["amount"]
            c = s.get(ConflictRecord, "k1")
            assert (c.winner_value, c.loser_value) == ("1000.00", "900.00")
    finally:
        db.close()
