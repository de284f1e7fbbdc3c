from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from app.core.patient_rules import ValidationError
from app.store.dto import PatientFilter
from app.store.errors import NotFoundError, PermissionDeniedError


@pytest.fixture
def people(store, admin):
    v = admin.viewer()
    doc = store.users.create("doc", "Dr Member", "member-pass", "member")
    other = store.users.create("other", "Dr Other", "member-pass", "member")
    made = {}
    for first, last, mobile, gender, owner in [
        ("Ana", "Lima", "+55 11 91234 5678", "female", doc),
        ("José", "García", "+34 600 123 456", "male", other),
        ("محمد", "العلي", "+966 55 000 1111", "male", doc),
        ("小明", "王", "+86 138 0013 8000", "male", other),
        ("Zoë", "Ångström", None, "female", doc),
    ]:
        made[first] = store.patients.create(
            v,
            {
                "first_name": first,
                "last_name": last,
                "mobile": mobile,
                "gender": gender,
                "responsible_user_id": owner.id,
                "email": f"{len(made)}@example.com",
            },
        )
    return made, doc, other


def names(rows) -> list[str]:
    return [r.first_name for r in rows]


def test_search_by_name_any_script_phone_and_email(store, admin, people) -> None:
    v = admin.viewer()
    assert names(store.patients.search(v, PatientFilter(query="jose"))) == ["José"]
    assert names(store.patients.search(v, PatientFilter(query="GARC"))) == ["José"]
    assert names(store.patients.search(v, PatientFilter(query="محم"))) == ["محمد"]
    assert names(store.patients.search(v, PatientFilter(query="王"))) == ["小明"]
    assert names(store.patients.search(v, PatientFilter(query="angstr"))) == ["Zoë"]
    assert names(store.patients.search(v, PatientFilter(query="0013 80"))) == ["小明"]
    assert names(store.patients.search(v, PatientFilter(query="3@exa"))) == ["小明"]
    assert names(store.patients.search(v, PatientFilter(query="ana lima"))) == ["Ana"]
    assert names(store.patients.search(v, PatientFilter(query="lima ana"))) == ["Ana"]
    assert store.patients.search(v, PatientFilter(query="nobody-like-this")) == []


def test_display_order_and_sorting(store, admin, people) -> None:
    v = admin.viewer()
    all_rows = store.patients.search(v, PatientFilter())
    # Last name, accents folded: Ångström, García, Lima; then Arabic, then Chinese.
    assert names(all_rows) == ["Zoë", "José", "Ana", "محمد", "小明"]
    keys = [r.sort_key for r in all_rows]
    assert keys == sorted(keys)
    desc = store.patients.search(v, PatientFilter(sort="-name"))
    assert names(desc) == list(reversed(names(all_rows)))
    assert store.patients.count(v, PatientFilter()) == 5


def test_ordinary_member_sees_only_his_patients(store, admin, people) -> None:
    made, doc, other = people
    mine = doc.viewer()
    assert sorted(names(store.patients.search(mine, PatientFilter()))) == sorted(
        ["Ana", "محمد", "Zoë"]
    )
    assert store.patients.search(mine, PatientFilter(query="jose")) == []
    assert store.patients.count(mine, PatientFilter(query="jose")) == 0
    with pytest.raises(NotFoundError):
        store.patients.get(mine, made["José"].id)
    with pytest.raises(NotFoundError):
        store.records.visits(mine, made["José"].id)
    with pytest.raises(NotFoundError):
        store.patients.update(mine, made["José"].id, {"note": "x"})
    with pytest.raises(PermissionDeniedError):
        store.patients.update(mine, made["Ana"].id, {"responsible_user_id": other.id})
    created = store.patients.create(mine, {"first_name": "New", "responsible_user_id": other.id})
    assert created.get("responsible_user_id") == doc.id


def test_filters_gender_case_type_and_visit_dates(store, admin, people) -> None:
    made, _, _ = people
    v = admin.viewer()
    assert sorted(names(store.patients.search(v, PatientFilter(gender="female")))) == ["Ana", "Zoë"]
    store.records.add_visit(v, made["Ana"].id, {"visit_date": "2026-03-01"})
    store.records.add_visit(v, made["José"].id, {"visit_date": "2026-05-01"})
    f = PatientFilter(visit_from="2026-02-01", visit_to="2026-04-01")
    assert names(store.patients.search(v, f)) == ["Ana"]
    store.patients.update(v, made["Zoë"].id, {"case_types": "orthodontics,implant"})
    assert names(store.patients.search(v, PatientFilter(case_type="implant"))) == ["Zoë"]
    assert store.patients.case_types(v) == ["implant", "orthodontics"]
    assert names(store.patients.search(v, PatientFilter(query="z", gender="female"))) == ["Zoë"]


def test_validation_errors_change_nothing(store, admin) -> None:
    with pytest.raises(ValidationError):
        store.patients.create(admin.viewer(), {"first_name": "", "birth_date": "2999-01-01"})
    assert store.patients.count(admin.viewer(), PatientFilter()) == 0


def test_hostile_strings_are_stored_as_text(store, admin) -> None:
    v = admin.viewer()
    nasty = "Robert'); DROP TABLE patients;--"
    p = store.patients.create(v, {"first_name": nasty, "note": "<script>alert(1)</script>"})
    assert store.patients.get(v, p.id).get("first_name") == nasty
    assert names(store.patients.search(v, PatientFilter(query="robert'"))) == [nasty]


def test_visits_newest_first_and_diary_totals(store, admin, people) -> None:
    made, _, _ = people
    v = admin.viewer()
    ana, jose = made["Ana"].id, made["José"].id
    store.records.add_visit(v, ana, {"visit_date": "2026-01-10", "amount_paid": Decimal("10")})
    last = store.records.add_visit(
        v, ana, {"visit_date": "2026-02-10", "amount_paid": Decimal("25"), "procedure": "Filling"}
    )
    store.records.add_visit(v, jose, {"visit_date": "2026-02-10", "amount_paid": Decimal("40")})
    visits = store.records.visits(v, ana)
    assert [x.visit_date for x in visits] == ["2026-02-10", "2026-01-10"]
    store.records.rename_visit(v, last.id, "Upper left filling")
    assert store.records.visits(v, ana)[0].name == "Upper left filling"
    assert len(store.records.visits(v, ana, date_from="2026-02-01")) == 1
    local = dt.datetime(2026, 2, 10, 15, 30)
    store.records.add_appointment(v, made["Zoë"].id, local, 45, "Check-up")
    day = store.diary.day(v, dt.date(2026, 2, 10))
    assert day.total_paid == Decimal("65.00")
    assert day.patient_count == 3
    assert [a.patient_name for a in day.appointments] == ["Zoë Ångström"]


def test_agreements_remaining_and_expiry(store, admin, people) -> None:
    made, _, _ = people
    v = admin.viewer()
    a = store.records.add_agreement(
        v,
        made["Ana"].id,
        {
            "title": "Braces",
            "total": Decimal("3000"),
            "discount": Decimal("200"),
            "tax": Decimal("0"),
            "expires_on": "2026-06-30",
        },
    )
    store.records.add_payment(v, a, "2026-01-05", Decimal("1000"))
    row = store.records.agreements(v, made["Ana"].id, today=dt.date(2026, 11, 25))[0]
    assert (row.paid, row.remaining, row.expired) == (Decimal(1000), Decimal(1800), True)


def test_records_of_a_merged_patient_show_under_the_kept_one(store, admin) -> None:
    from app.store.models import Patient

    v = admin.viewer()
    kept = store.patients.create(v, {"first_name": "Kept", "last_name": "One"})
    old = store.patients.create(v, {"first_name": "Old", "last_name": "Copy"})
    store.records.add_visit(v, old.id, {"visit_date": "2026-03-01", "name": "Late"})
    with store.db.write() as s:
        s.get(Patient, old.id).merged_into = kept.id
    assert [x.name for x in store.records.visits(v, kept.id)] == ["Late"]
    assert [r.first_name for r in store.patients.search(v, PatientFilter())] == ["Kept"]
