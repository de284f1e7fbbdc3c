"""The new-patient form as the front desk meets it: focus, messages, size, duplicates."""

from __future__ import annotations

import time

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from app.core.hlc import Timestamp
from app.store.sync.sync_repo import SyncRepo
from app.ui.patients.patient_dialog import PatientDialog
from tests.gui.patients.test_front_desk import (
    add_patient,
    fill,
    open_new_patient,
    shown,
    visible_names,
)


def click_save(dialog: PatientDialog) -> None:
    dialog.buttons.button(dialog.buttons.StandardButton.Save).click()


def question(parent: QWidget, qtbot, name: str) -> QMessageBox:
    qtbot.waitUntil(lambda: any(b.isVisible() for b in parent.findChildren(QMessageBox, name)))
    return next(b for b in parent.findChildren(QMessageBox, name) if b.isVisible())


def answer(box: QMessageBox, qtbot, text: str) -> None:
    button = next(b for b in box.buttons() if b.text() == text)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def top_left(widget: QWidget, ref: QWidget) -> QPoint:
    return widget.mapTo(ref, QPoint(0, 0))


def test_typing_starts_in_first_name_and_errors_clear_when_fixed(window, qtbot) -> None:
    dialog = open_new_patient(window, qtbot)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is dialog.inputs["first_name"])
    qtbot.keyClicks(QApplication.focusWidget(), "Ana")
    assert dialog.inputs["first_name"].text() == "Ana"
    long_email = "ana.maria.de.souza.lima.the.first.of.her.name@" + "x" * 60
    fill(dialog, qtbot, birth_date="2999-01-01", email=long_email)
    click_save(dialog)
    last = dialog.errors["last_name"]
    qtbot.waitUntil(last.isVisible)
    assert last.text() == "Last name is required."
    assert QApplication.focusWidget() is dialog.inputs["last_name"]
    # The whole message shows, under its own box, within the dialog's width.
    email_error = dialog.errors["email"]
    assert email_error.isVisible() and "Email does not look like an address" in email_error.text()
    box = dialog.inputs["email"]
    assert abs(top_left(email_error, dialog).x() - top_left(box, dialog).x()) <= 4
    assert top_left(email_error, dialog).y() > top_left(box, dialog).y()
    assert top_left(email_error, dialog).x() + email_error.width() <= dialog.width()
    assert email_error.width() >= email_error.fontMetrics().horizontalAdvance("Email does not")
    # Fixing a field takes its message away; the others stay until fixed.
    qtbot.keyClicks(dialog.inputs["last_name"], "Lima")
    assert not last.isVisible()
    assert dialog.errors["birth_date"].isVisible()
    fill(dialog, qtbot, birth_date="2999-01-0")
    assert "valid date" in dialog.errors["birth_date"].text()
    fill(dialog, qtbot, birth_date="1990-01-02", email="ana@example.com")
    assert not dialog.errors["birth_date"].isVisible()
    assert not dialog.errors["email"].isVisible()
    assert not dialog.banner.isVisible()


def test_escape_on_a_changed_form_asks_before_discarding(window, qtbot, ctx) -> None:
    dialog = open_new_patient(window, qtbot)
    fill(dialog, qtbot, first_name="Rui")
    qtbot.keyClick(dialog.inputs["first_name"], Qt.Key.Key_Escape)
    box = question(dialog, qtbot, "discardQuestion")
    answer(box, qtbot, "Keep editing")
    qtbot.waitUntil(lambda: not box.isVisible())
    assert dialog.isVisible() and dialog.inputs["first_name"].text() == "Rui"
    qtbot.keyClick(dialog.inputs["first_name"], Qt.Key.Key_Escape)
    answer(question(dialog, qtbot, "discardQuestion"), qtbot, "Discard")
    qtbot.waitUntil(lambda: shown(window, PatientDialog) is None)
    # An untouched form closes at once.
    dialog = open_new_patient(window, qtbot)
    qtbot.keyClick(dialog.inputs["first_name"], Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: shown(window, PatientDialog) is None)
    assert not [b for b in window.findChildren(QMessageBox) if b.isVisible()]


def test_basic_fields_fit_a_1280x720_screen_and_labels_stay_beside_their_boxes(
    window, qtbot
) -> None:
    dialog = open_new_patient(window, qtbot)
    hint = dialog.sizeHint()
    # Room left on a 1280×720 screen by a title bar and a task bar.
    assert hint.width() <= 1280 and hint.height() <= 720 - 80, hint
    dialog.resize(hint)
    qtbot.waitUntil(lambda: dialog.size() == hint)
    basic = dialog.form.basic
    for name, box in dialog.inputs.items():
        if basic.isAncestorOf(box):
            bottom = box.mapTo(basic, QPoint(0, box.height())).y()
            assert box.isVisible() and bottom <= basic.height(), name
    for size in ((hint.width(), hint.height()), (1600, 1000)):
        dialog.resize(*size)
        qtbot.waitUntil(lambda s=size: dialog.size().toTuple() == s)
        for name, label in dialog.form.labels.items():
            box = dialog.doctor if name == "responsible_user_id" else dialog.inputs[name]
            if not basic.isAncestorOf(box):
                continue
            gap = top_left(box, dialog).x() - (top_left(label, dialog).x() + label.width())
            assert 0 <= gap <= 24, (name, size, gap)
            assert abs(top_left(label, dialog).y() - top_left(box, dialog).y()) <= 8, name


def test_same_name_and_birth_date_warns_and_opens_the_patient_on_file(
    window, qtbot, ctx
) -> None:
    ctx.store.patients.create(
        ctx.viewer, {"first_name": "Zoë", "last_name": "Reis", "birth_date": "1990-05-06"}
    )
    dialog = open_new_patient(window, qtbot)
    fill(dialog, qtbot, first_name="zoe ", last_name="REIS", birth_date="1990-05-06")
    click_save(dialog)
    box = question(dialog, qtbot, "duplicateWarning")
    assert "Zoë Reis, born 1990-05-06" in box.text()
    assert "same first name, last name and date of birth" in box.text()
    answer(box, qtbot, "Open existing patient")
    qtbot.waitUntil(lambda: window.patient_page.title.text() == "Zoë Reis")
    assert shown(window, PatientDialog) is None
    window.show_list()
    window.patient_list.reload()
    qtbot.waitUntil(lambda: visible_names(window) == ["Zoë Reis"])


def test_same_mobile_or_id_number_warns_and_can_still_save(window, qtbot, ctx) -> None:
    ctx.store.patients.create(
        ctx.viewer,
        {"first_name": "Ana", "last_name": "Lima", "mobile": "+351 912 345 678",
         "id_number": "AB 1234"},
    )
    dialog = open_new_patient(window, qtbot)
    fill(dialog, qtbot, first_name="Bia", last_name="Lima", mobile="00351912345678")
    click_save(dialog)
    box = question(dialog, qtbot, "duplicateWarning")
    assert "Ana Lima" in box.text() and "same mobile phone" in box.text()
    answer(box, qtbot, "Keep editing")
    qtbot.waitUntil(lambda: not box.isVisible())
    assert dialog.isVisible()
    fill(dialog, qtbot, mobile="", id_number="ab1234")
    click_save(dialog)
    box = question(dialog, qtbot, "duplicateWarning")
    assert "same ID number" in box.text()
    answer(box, qtbot, "Save as new patient")
    qtbot.waitUntil(lambda: window.patient_page.title.text() == "Bia Lima")
    # A patient with nobody like him on file is saved without a question.
    add_patient(window, qtbot, first_name="Caio", last_name="Castro", mobile="+351 913 000 111")
    window.show_list()
    qtbot.waitUntil(lambda: len(visible_names(window)) == 3)


def test_alt_s_and_ctrl_s_save_from_any_box_and_type_nothing(window, qtbot) -> None:
    # Alt+S used to reach the focused date box as a typed "s" and save nothing.
    dialog = open_new_patient(window, qtbot)
    fill(dialog, qtbot, first_name="Rami", last_name="Haddad", birth_date="1984-03-12")
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow)
    with qtbot.waitSignal(dialog.saved, timeout=5000):
        qtbot.keyClick(dialog.inputs["birth_date"], Qt.Key.Key_S, Qt.KeyboardModifier.AltModifier)
    assert dialog.inputs["birth_date"].text() == "1984-03-12"
    qtbot.waitUntil(lambda: window.patient_page.title.text() == "Rami Haddad")
    dialog = open_new_patient(window, qtbot)
    fill(dialog, qtbot, first_name="Nour", last_name="Khalil")
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow)
    with qtbot.waitSignal(dialog.saved, timeout=5000):
        qtbot.keyClick(dialog.inputs["last_name"], Qt.Key.Key_S,
                       Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.patient_page.title.text() == "Nour Khalil")
    assert "Rami Haddad" in visible_names(window) and "Nour Khalil" in visible_names(window)


def test_a_patient_taken_away_by_a_pull_closes_his_page_and_says_why(window, qtbot, ctx):
    # The page used to answer with a warning box: "That patient does not exist or is not
    # one of yours." when his clinic's data moved to another clinic while he was open.
    add_patient(window, qtbot, first_name="Rami", last_name="Haddad")
    patient = window.patient_page.patient
    ctx.ops.wait_idle()  # his tabs have loaded: the pull comes later, as it does at a desk
    stamp = str(Timestamp(int(time.time() * 1000) + 60_000, 0, "fffffffffffffff0"))
    repo = SyncRepo(ctx.store.db)
    repo.apply_remote([{"entity": "patient", "entity_id": patient.id,
                        "fields": {"deleted": {"value": True, "hlc": stamp, "base": None}}}],
                      repo.pull_cursor() + 1)
    qtbot.waitUntil(lambda: window.patients.currentWidget() is window.patient_list, timeout=8000)
    assert window.statusBar().currentMessage() == (
        "Rami Haddad is no longer on this computer: the practice's data changed on the server.")
    assert "Rami Haddad" not in visible_names(window)
    assert not [b for b in window.findChildren(QMessageBox, "opFailed") if b.isVisible()]
