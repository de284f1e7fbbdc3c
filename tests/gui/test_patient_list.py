"""The patient list as the front desk reads it: filters, columns, keyboard."""

from __future__ import annotations

from tests.gui.test_front_desk import visible_names


def test_case_type_filter_finds_a_patient_with_it_among_several(window, qtbot, ctx) -> None:
    v = ctx.viewer
    ctx.store.patients.create(v, {"first_name": "Ana", "last_name": "Lima",
                                  "case_types": "Orthodontics, Implant"})
    ctx.store.patients.create(v, {"first_name": "Rui", "last_name": "Sousa",
                                  "case_types": "implant ,whitening"})
    ctx.store.patients.create(v, {"first_name": "Zoe", "last_name": "Reis",
                                  "case_types": "Implant"})
    lst = window.patient_list
    lst.refresh_case_types()
    lst.reload()
    qtbot.waitUntil(lambda: lst.case_type.count() > 1)
    # One entry per type, whatever the case it was typed in.
    types = [lst.case_type.itemText(i).casefold() for i in range(1, lst.case_type.count())]
    assert types == ["implant", "orthodontics", "whitening"]
    lst.case_type.setCurrentIndex(1)
    qtbot.waitUntil(lambda: visible_names(window) == ["Ana Lima", "Zoe Reis", "Rui Sousa"])
    lst.case_type.setCurrentIndex(lst.case_type.findText("whitening"))
    qtbot.waitUntil(lambda: visible_names(window) == ["Rui Sousa"])
    qtbot.waitUntil(lambda: lst.count.text() == "1 patient")
