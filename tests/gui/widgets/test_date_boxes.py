"""Every date box takes a date typed in full, the diary's included."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from PySide6.QtCore import QDate, QDateTime, Qt, QTime

from app.ui.widgets.date_box import DateBox, TimeBox, parse_time
from app.ui.widgets.form_dialog import FormDialog
from tests.gui.patients.test_front_desk import shown


def type_into(box, qtbot, text: str) -> None:
    box.line.setFocus()
    qtbot.keyClick(box.line, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(box.line, text)


def test_typing_a_date_in_every_box_gives_that_date(window, qtbot, ctx) -> None:
    p = ctx.store.patients.create(ctx.viewer, {"first_name": "Ana", "last_name": "Lima"})
    ctx.store.records.add_visit(ctx.viewer, p.id, {"visit_date": "2027-11-30",
                                                   "amount_paid": Decimal("42")})
    lst = window.patient_list
    page = window.patient_page
    window.open_patient(p.id)
    qtbot.waitUntil(lambda: page.title.text() == "Ana Lima")
    boxes = [lst.visit_from, lst.visit_to, page.range_from, page.range_to, window.diary.date]
    for box in boxes:
        box.setEnabled(True)
        type_into(box, qtbot, "2027-11-30")
        assert box.date() == QDate(2027, 11, 30), box.objectName()
        assert box.text() == "2027-11-30"
    # The diary shows that day at once, with its weekday.
    window.tabs.setCurrentIndex(1)
    qtbot.waitUntil(lambda: window.diary.total.text() == "Total paid: 42.00")
    assert window.diary.date.weekday.text() == "Tuesday"


def test_a_date_half_typed_keeps_the_last_one_and_comes_back_on_leaving(qtbot) -> None:
    box = DateBox(QDate(2026, 5, 1))
    qtbot.addWidget(box)
    box.show()
    with qtbot.waitSignal(box.dateChanged) as changed:
        type_into(box, qtbot, "2027-02-")
        assert box.date() == QDate(2026, 5, 1)  # not a date yet: nothing changes
        qtbot.keyClicks(box.line, "28")
    assert changed.args == [QDate(2027, 2, 28)]
    type_into(box, qtbot, "2027-02-30")
    assert box.date() == QDate(2027, 2, 28)
    qtbot.keyClick(box.line, Qt.Key.Key_Return)
    assert box.text() == "2027-02-28"
    box.line.setFocus()
    qtbot.keyClick(box.line, Qt.Key.Key_Up)
    assert box.date() == QDate(2027, 3, 1)
    type_into(box, qtbot, "30/11/2027")
    qtbot.keyClick(box.line, Qt.Key.Key_Return)
    assert box.date() == QDate(2027, 11, 30) and box.text() == "2027-11-30"


def test_visit_and_appointment_forms_take_typed_dates(window, qtbot, ctx) -> None:
    p = ctx.store.patients.create(ctx.viewer, {"first_name": "Rui", "last_name": "Sousa"})
    window.open_patient(p.id)
    page = window.patient_page
    qtbot.waitUntil(lambda: page.title.text() == "Rui Sousa")
    page.add_visit()
    qtbot.waitUntil(lambda: shown(page, FormDialog) is not None)
    dialog = shown(page, FormDialog)
    type_into(dialog.widgets["visit_date"], qtbot, "2027-11-30")
    qtbot.keyClicks(dialog.widgets["name"], "Check-up")
    dialog.buttons.button(dialog.buttons.StandardButton.Save).click()
    qtbot.waitUntil(lambda: page.visits.rowCount() == 1)
    assert page.visits.rows[0].visit_date == "2027-11-30"
    page._form(__import__("app.ui.patients.record_forms", fromlist=["x"]).appointment_dialog)
    qtbot.waitUntil(lambda: shown(page, FormDialog) is not None)
    dialog = shown(page, FormDialog)
    starts = next(w for w in dialog.widgets.values() if hasattr(w, "dateTime"))
    type_into(starts, qtbot, "2027-11-30 14:45")
    assert starts.dateTime() == QDateTime(QDate(2027, 11, 30), QTime(14, 45))
    dialog.buttons.button(dialog.buttons.StandardButton.Save).click()
    qtbot.waitUntil(lambda: page.appointments.rowCount() == 1)
    when = dt.datetime.fromisoformat(page.appointments.rows[0].starts_at).astimezone()
    assert when.strftime("%Y-%m-%d %H:%M") == "2027-11-30 14:45"


def test_a_time_box_takes_the_ways_people_type_a_time(qtbot) -> None:
    assert [parse_time(t).toString("HH:mm") for t in ("13:00", "9:30", "1300", "930", "18",
                                                       "7", "18.45")] == [
        "13:00", "09:30", "13:00", "09:30", "18:00", "07:00", "18:45"]
    assert not parse_time("25:00").isValid() and not parse_time("noon").isValid()
    box = TimeBox(QTime(8, 0), objectName="t")
    qtbot.addWidget(box)
    box.selectAll()
    qtbot.keyClicks(box, "18")  # Qt's own time box made this 08:08
    assert box.time() == QTime(8, 0)  # half typed: the last time holds
    qtbot.keyClick(box, Qt.Key.Key_Return)
    assert (box.time(), box.text()) == (QTime(18, 0), "18:00")
    box.selectAll()
    qtbot.keyClicks(box, "nonsense")
    qtbot.keyClick(box, Qt.Key.Key_Return)
    assert (box.time(), box.text()) == (QTime(18, 0), "18:00")  # put back, not lost
    qtbot.keyClick(box, Qt.Key.Key_Up)
    assert box.text() == "18:15"
