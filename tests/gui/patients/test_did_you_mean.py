"""A misspelt surname: the empty list offers the surname meant, and a click finds him."""

from __future__ import annotations

from PySide6.QtCore import Qt

from tests.gui.patients.test_front_desk import type_search, visible_names


def test_a_misspelt_surname_is_offered_and_a_click_finds_the_patient(
    window, qtbot, ctx
) -> None:
    for first, last in [("Nikos", "Papadopoulos"), ("Eleni", "Papas"), ("Ana", "Lima")]:
        ctx.store.patients.create(ctx.viewer, {"first_name": first, "last_name": last})
    lst = window.patient_list
    lst.reload()
    qtbot.waitUntil(lambda: lst.model.rowCount() == 3)
    assert not lst.did_you_mean.isVisible()

    type_search(window, qtbot, "papadopulos")
    qtbot.waitUntil(lambda: lst.did_you_mean.isVisible())
    assert lst.model.rowCount() == 0
    assert [b.text() for b in lst.did_you_mean.buttons] == ["Papadopoulos"]

    qtbot.mouseClick(lst.did_you_mean.buttons[0], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: visible_names(window) == ["Nikos Papadopoulos"])
    assert lst.search.text() == "Papadopoulos"
    assert not lst.did_you_mean.isVisible()


def test_nothing_is_offered_for_a_name_nobody_is_close_to(window, qtbot, ctx) -> None:
    ctx.store.patients.create(ctx.viewer, {"first_name": "Nikos", "last_name": "Papadopoulos"})
    lst = window.patient_list
    type_search(window, qtbot, "wxyzq")
    qtbot.waitUntil(lambda: "No patient matches" in lst.empty.text())
    ctx.ops.drain()
    assert not lst.did_you_mean.isVisible()
