"""A cloud whose records hold money as minor units (before decimal text) is upgraded:
its records, change log and kept conflicts then read as the devices now send money."""

from __future__ import annotations

import datetime as dt

from alembic import command
from sqlalchemy import MetaData, select
from sqlalchemy.orm import Session

from app.core.ids import new_id
from cloud import migrate
from cloud.db import make_engine
from cloud.models import Change, ConflictRecord, Record

H1 = "1700000000000-0000-aaaaaaaaaaaaaaaa"
H2 = "1700000000001-0000-bbbbbbbbbbbbbbbb"
NOW = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)


def test_money_stored_as_minor_units_becomes_decimal_text(db_url: str) -> None:
    engine = make_engine(db_url)
    with engine.connect() as conn:
        command.upgrade(migrate.alembic_config(conn), "0005")
        conn.commit()
    pay, agreement, patient = new_id(), new_id(), new_id()
    iid = "i" * 32
    # Rows as a cloud at 0005 held them, written through that schema (reflected), not
    # through today's models, which know columns of later revisions.
    meta = MetaData()
    with engine.begin() as conn:
        meta.reflect(conn)
        t = meta.tables
        conn.execute(t["installations"].insert(), [{
            "id": iid, "email": "desk@example.com", "password_hash": "x",
            "general_password_enabled": True, "patient_pages_enabled": True,
            "patient_images_enabled": False, "time_zone": "UTC", "last_seq": 3,
            "created_at": NOW}])
        conn.execute(t["records"].insert(), [
            {"entity_id": pay, "installation_id": iid, "entity": "payment", "max_hlc": H1,
             "seq": 1, "fields": {"amount": 125005, "paid_on": "2026-01-05"},
             "stamps": {"amount": H1, "paid_on": H1}, "bases": {}, "updated_at": NOW},
            {"entity_id": agreement, "installation_id": iid, "entity": "agreement",
             "max_hlc": H1, "seq": 2, "fields": {"total": 100000, "discount": 0, "tax": 5,
                                                "title": "Braces"},
             "stamps": {}, "bases": {}, "updated_at": NOW},
            {"entity_id": patient, "installation_id": iid, "entity": "patient",
             "max_hlc": H1, "seq": 3, "fields": {"first_name": "Ana", "amount": 5},
             "stamps": {}, "bases": {}, "updated_at": NOW},
        ])
        conn.execute(t["changes"].insert(), [{
            "installation_id": iid, "seq": 1, "entity": "payment", "entity_id": pay,
            "origin_node": "a" * 16, "created_at": NOW,
            "fields": {"amount": {"value": 125005, "hlc": H1, "base": None}}}])
        conn.execute(t["conflicts"].insert(), [{
            "installation_id": iid, "key": "k" * 32, "entity": "agreement",
            "entity_id": agreement, "field": "total", "seq": 2, "created_at": NOW,
            "winner": {"value": 100000, "hlc": H2}, "loser": {"value": 90000, "hlc": H1}}])
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
