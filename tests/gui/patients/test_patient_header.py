"""The patient's header warns of allergies and critical history on every tab."""

from __future__ import annotations

from PySide6.QtCore import Qt

from app.ui.patients.patient_dialog import PatientDialog
from tests.gui.patients.test_front_desk import fill, shown


def test_allergy_and_anticoagulant_alert_shows_on_every_tab(window, qtbot, ctx) -> None:
    p = ctx.store.patients.create(ctx.viewer, {
        "first_name": "Omar", "last_name": "Nasser", "allergies": "Penicillin, latex",
        "medications": "Warfarin 5 mg daily", "diseases": "Type 2 diabetes"})
    calm = ctx.store.patients.create(ctx.viewer, {
        "first_name": "Lina", "last_name": "Saad", "allergies": "none",
        "medications": "Ibuprofen when needed"})
    window.open_patient(p.id)
    page = window.patient_page
    qtbot.waitUntil(lambda: page.title.text() == "Omar Nasser")
    alert = page.alert
    assert "Allergies: Penicillin, latex" in alert.text()
    assert "anticoagulant" in alert.text() and "diabetes" in alert.text()
    for i in range(page.tabs.count()):
        page.tabs.setCurrentIndex(i)
        assert alert.isVisible(), page.tabs.tabText(i)
        assert alert.geometry().bottom() < page.tabs.geometry().top()
    # The alert follows an edit at once.
    page.tabs.setCurrentIndex(0)
    qtbot.mouseClick(page.edit, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: shown(window, PatientDialog) is not None)
    dialog = shown(window, PatientDialog)
    fill(dialog, qtbot, allergies="", medications="Apixaban")
    dialog.buttons.button(dialog.buttons.StandardButton.Save).click()
    qtbot.waitUntil(lambda: "Allergies" not in alert.text())
    assert alert.isVisible() and "anticoagulant" in alert.text()
    # Nothing to warn about: no alert.
    window.open_patient(calm.id)
    qtbot.waitUntil(lambda: page.title.text() == "Lina Saad")
    assert not alert.isVisible()
