"""A cloud whose records hold money as minor units (before decimal text) is upgraded:
its records, change log and kept conflicts then read as the devices now send money."""

from __future__ import annotations

from alembic import command
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.ids import new_id
from cloud import migrate
from cloud.db import make_engine
from cloud.models import Change, ConflictRecord, Installation, Record

H1 = "1700000000000-0000-aaaaaaaaaaaaaaaa"
H2 = "1700000000001-0000-bbbbbbbbbbbbbbbb"


def test_money_stored_as_minor_units_becomes_decimal_text(db_url: str) -> None:
    engine = make_engine(db_url)
    with engine.connect() as conn:
        command.upgrade(migrate.alembic_config(conn), "0005")
        conn.commit()
    pay, agreement, patient = new_id(), new_id(), new_id()
    with Session(engine) as s:
        s.add(Installation(id="i" * 32, email="desk@example.com", password_hash="x"))
        s.flush()
        s.add_all([
            Record(entity_id=pay, installation_id="i" * 32, entity="payment", max_hlc=H1,
                   seq=1, fields={"amount": 125005, "paid_on": "2026-01-05"},
                   stamps={"amount": H1, "paid_on": H1}, bases={}),
            Record(entity_id=agreement, installation_id="i" * 32, entity="agreement",
                   max_hlc=H1, seq=2, fields={"total": 100000, "discount": 0, "tax": 5,
                                              "title": "Braces"},
                   stamps={}, bases={}),
            Record(entity_id=patient, installation_id="i" * 32, entity="patient", max_hlc=H1,
                   seq=3, fields={"first_name": "Ana", "amount": 5}, stamps={}, bases={}),
            Change(installation_id="i" * 32, seq=1, entity="payment", entity_id=pay,
                   origin_node="a" * 16, fields={"amount": {"value": 125005, "hlc": H1,
                                                            "base": None}}),
            ConflictRecord(installation_id="i" * 32, key="k" * 32, entity="agreement",
                           entity_id=agreement, field="total", seq=2,
                           winner={"value": 100000, "hlc": H2},
                           loser={"value": 90000, "hlc": H1}),
        ])
        s.commit()
    migrate.upgrade(engine)
    with Session(engine) as s:
        assert s.get(Record, pay).fields == {"amount": "1250.05", "paid_on": "2026-01-05"}
        assert s.get(Record, agreement).fields == {
            "total": "1000.00", "discount": "0.00", "tax": "0.05", "title": "Braces"}
        assert s.get(Record, patient).fields["amount"] == 5  # not money: left alone
        [change] = s.scalars(select(Change))
        assert change.fields["amount"] == {"value": "1250.05", "hlc": H1, "base": None}
        [c] = s.scalars(select(ConflictRecord))
        assert (c.winner["value"], c.loser["value"]) == ("1000.00", "900.00")
    engine.dispose()
