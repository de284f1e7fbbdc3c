"""Providers' working hours as an administrator sets them and the front desk meets them:
shaded in the book, and a booking outside them warns first."""

from __future__ import annotations

from PySide6.QtCore import QDate, QDateTime, Qt, QTime
from PySide6.QtWidgets import QMessageBox

from app.ui.schedule.book_view import BookView
from app.ui.schedule.grid_layout import DAY_START, SLOT
from app.ui.schedule.hours_dialog import HoursDialog
from tests.gui.schedule.test_book import (  # noqa: F401
    DAY,
    at,
    book,
    booking_dialog,
    cell,
    choose_patient,
    clinic,
    drag,
    entries,
    save,
)


def slot(hour: int) -> int:
    return (hour * 60 - DAY_START) // SLOT


def test_hours_shade_the_book_and_a_booking_outside_them_warns(
    book: BookView, window, ctx, clinic, qtbot  # noqa: F811
) -> None:
    v, (one, _), _, _ = clinic
    assert not book.grid._off  # nobody's hours set: nothing shaded
    window.show_hours()
    qtbot.waitUntil(lambda: window.findChild(HoursDialog) is not None)
    d: HoursDialog = window.findChild(HoursDialog)
    qtbot.waitUntil(lambda: d.provider.count() > 0)
    assert d.provider.currentText() == "Dr Admin"
    # DAY is a Tuesday: 10:00 to 14:00, typed as people type times; Wednesday a day off.
    d.works["wed"].setChecked(False)
    d.starts["tue"].selectAll()
    qtbot.keyClicks(d.starts["tue"], "10:00")
    d.ends["tue"].selectAll()
    qtbot.keyClicks(d.ends["tue"], "14")  # "14" is 14:00, once Enter is pressed
    assert d.ends["tue"].time() == QTime(17, 0)
    qtbot.keyClick(d.ends["tue"], Qt.Key.Key_Return)
    assert (d.starts["tue"].time(), d.ends["tue"].text()) == (QTime(10, 0), "14:00")
    d.buttons.button(d.buttons.StandardButton.Save).click()
    qtbot.waitUntil(lambda: book.grid.off_hours(0, slot(9)))
    qtbot.waitUntil(lambda: d.error.text() == "Dr Admin's working hours are saved.")
    g = book.grid
    assert not g.off_hours(0, slot(10)) and not g.off_hours(0, slot(13))
    assert g.off_hours(0, slot(14)) and g.off_hours(0, slot(20))
    week = ctx.store.book.hours.all()[v.user_id]
    assert week.days[1] == (600, 840) and week.days[2] is None and week.days[0] == (480, 1020)
    d.close()

    # Booked with the provider at 15:00: the desk is told he does not work then.
    drag(qtbot, book, cell(book, one.id, 15), cell(book, one.id, 15, 15))
    dialog = booking_dialog(book, qtbot)
    choose_patient(dialog, qtbot, "Nadia")
    dialog.provider.setCurrentIndex(dialog.provider.findData(v.user_id))
    save(dialog)
    qtbot.waitUntil(lambda: book.question is not None and book.question.isVisible())
    text = book.question.text()
    assert "Dr Admin does not work then (Tuesday: 10:00–14:00)" in text
    assert book.question.windowTitle() == "Outside working hours"
    book.question.button(QMessageBox.StandardButton.No).click()
    assert entries(book, ctx) == [] and dialog.isVisible()
    # Inside the hours it books without a word.
    dialog.start.line.selectAll()
    qtbot.keyClicks(dialog.start.line, f"{DAY.isoformat()} 11:00")
    assert dialog.start.dateTime() == QDateTime(QDate(DAY.year, DAY.month, DAY.day),
                                                QTime(11, 0))
    save(dialog)
    qtbot.waitUntil(lambda: len(entries(book, ctx)) == 1)
    assert book.question is None and entries(book, ctx)[0].starts_at == at(11)


def test_an_empty_book_says_how_to_add_chairs(window, qtbot) -> None:
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    view = window.book
    qtbot.waitUntil(lambda: view.grid.page is not None)
    assert view.hint.isVisible() and "Practice ▸ Chairs…" in view.hint.text()


def test_closing_the_hours_before_the_save_ends_loses_nothing(window, ctx, qtbot) -> None:
    """Saved and closed at once (as Enter, the default button, then Esc do): the save
    still lands, and its answer, coming to a closed window, is dropped without an error."""
    window.show_hours()
    qtbot.waitUntil(lambda: window.findChild(HoursDialog) is not None)
    d: HoursDialog = window.findChild(HoursDialog)
    qtbot.waitUntil(lambda: d.provider.count() > 0)
    d.works["sat"].setChecked(True)
    d.buttons.button(d.buttons.StandardButton.Save).click()
    d.close()
    qtbot.waitUntil(lambda: window.findChild(HoursDialog) is None)
    ctx.ops.wait_idle()
    qtbot.wait(50)  # the save's answer is delivered, to nobody
    week = ctx.store.book.hours.all()[ctx.viewer.user_id]
    assert week.days[5] is not None  # Saturday, as saved
