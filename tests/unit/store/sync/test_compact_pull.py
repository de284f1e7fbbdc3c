"""Pulled changes in the compact form of a creation (app.core.compact) are applied as the
same changes written field by field, and one that can not be applied is set aside."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select

from app.core.hlc import Timestamp
from app.core.ids import new_id
from app.store.dto import PatientFilter
from app.store.models import Patient, Visit
from app.store.sync.purge_repo import purge_reason
from app.store.sync.sync_repo import SyncRepo
from app.store.sync.unapplied_repo import UnappliedRepo

OTHER_PC = "e" * 16
FIELDS = {"first_name": "Zoë", "last_name": "Müller-Ost", "mobile": "+49 151 2345 678",
          "gender": "female", "case_types": "ortho"}


def _hlc(wall_ms: int) -> str:
    return str(Timestamp(wall_ms, 0, OTHER_PC))


def compact_change(entity: str, entity_id: str, fields: dict[str, Any], hlc: str) -> dict:
    return {"entity": entity, "entity_id": entity_id, "fields": {"@hlc": hlc, "@v": fields}}


def full_change(entity: str, entity_id: str, fields: dict[str, Any], hlc: str,
                base: str | None = None) -> dict:
    return {"entity": entity, "entity_id": entity_id,
            "fields": {n: {"value": v, "hlc": hlc, "base": base} for n, v in fields.items()}}


def _row(store: Any, model: Any, entity_id: str) -> dict[str, Any]:
    with store.db.read() as s:
        obj = s.get(model, entity_id)
        return {c.name: getattr(obj, c.key) for c in model.__table__.columns
                if c.name not in ("id", "num")}


def test_a_compact_creation_makes_the_same_row_as_the_full_form(store, admin) -> None:
    repo = SyncRepo(store.db)
    now = int(time.time() * 1000)
    h = _hlc(now)
    a, b = new_id(), new_id()
    visit = {"patient_id": a, "visit_date": "2024-03-01", "amount_paid": "25.00"}
    v_a, v_b = new_id(), new_id()
    report = repo.apply_remote([compact_change("patient", a, FIELDS, h),
                                compact_change("visit", v_a, visit, h),
                                full_change("patient", b, FIELDS, h),
                                full_change("visit", v_b, {**visit, "patient_id": b}, h)], 4)
    assert report.applied_rows == 4
    assert _row(store, Patient, a) == _row(store, Patient, b)
    assert _row(store, Patient, a)["stamps"] == {n: [h, None] for n in FIELDS}
    assert {**_row(store, Visit, v_a), "patient_id": b} == _row(store, Visit, v_b)
    found = store.patients.search(admin.viewer(), PatientFilter(query="müller"))
    assert {p.id for p in found} == {a, b}

    # An edit of a row held here, and a compact change of it, merge field by field.
    later = _hlc(now + 1000)
    repo.apply_remote([compact_change("patient", a, {"last_name": "Adler"}, later),
                       full_change("patient", b, {"last_name": "Adler"}, later)], 6)
    assert _row(store, Patient, a) == _row(store, Patient, b)
    older = _hlc(now + 500)  # loses to what is held: nothing changes
    repo.apply_remote([compact_change("patient", a, {"last_name": "Old"}, older)], 7)
    with store.db.read() as s:
        assert s.scalar(select(Patient.last_name).where(Patient.id == a)) == "Adler"
    assert repo.pull_cursor() == 7


def test_a_compact_change_that_does_not_fit_is_set_aside(store, admin) -> None:
    repo = SyncRepo(store.db)
    h = _hlc(int(time.time() * 1000))
    good, broken, bad_value, no_values = new_id(), new_id(), new_id(), new_id()
    page = [compact_change("patient", good, {"first_name": "Cat"}, h),
            compact_change("patient", broken, {"first_name": "Bea"}, "yesterday"),
            compact_change("patient", bad_value, {"first_name": "Bea\x07"}, h),
            {"entity": "patient", "entity_id": no_values, "fields": {"@hlc": h, "@v": 3}}]
    assert repo.apply_remote(page, 4).applied_rows == 1
    with store.db.read() as s:
        assert list(s.scalars(select(Patient.first_name))) == ["Cat"]
    aside = {a.entity_id: a.reason for a in UnappliedRepo(store.db).list()}
    assert aside == {broken: "the change has a broken time stamp",
                     bad_value: "First name contains a control character (U+0007)",
                     no_values: "the change carries no values"}


def test_the_purge_reason_is_read_from_either_form() -> None:
    said = "The clinic was dissolved."
    h = _hlc(1)
    assert purge_reason(compact_change("institution_purge", new_id(), {"reason": said}, h)) \
        == said
    assert purge_reason(full_change("institution_purge", new_id(), {"reason": said}, h)) == said
