"""The appointment book as the front desk works it: mouse drags, keys, dialogs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QDate, QDateTime, QPoint, Qt, QTime
from PySide6.QtWidgets import QMessageBox, QPushButton

from app.store.schedule.dto import Booking
from app.ui.schedule.book_view import BookView
from app.ui.schedule.booking_dialog import BookingDialog
from app.ui.schedule.cancel_dialog import CancelDialog
from app.ui.schedule.day_grid import entry_text
from app.ui.schedule.grid_layout import DAY_START, SLOT


def _a_tuesday_ahead() -> dt.date:
    """A Tuesday some weeks ahead: the book proposes no slot in the past, so a fixed
    date would stop working the day it is reached."""
    soon = dt.date.today() + dt.timedelta(days=21)
    return soon + dt.timedelta(days=(1 - soon.weekday()) % 7)


DAY = _a_tuesday_ahead()
LEFT = Qt.MouseButton.LeftButton


def at(hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(DAY, dt.time(hour, minute)).astimezone()


@pytest.fixture
def clinic(store, admin):
    v = admin.viewer()
    chairs = [store.book.add_chair(v, "Chair 1"), store.book.add_chair(v, "Chair 2")]
    nadia = store.patients.create(v, {"first_name": "Nadia", "last_name": "Khoury"})
    omar = store.patients.create(v, {"first_name": "Omar", "last_name": "Saleh"})
    return v, chairs, nadia, omar


@pytest.fixture
def book(clinic, window, qtbot) -> Iterator[BookView]:
    """The book as the main window shows it (Ctrl+3), on a Tuesday ahead."""
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    view = window.book
    assert window.tabs.currentWidget() is view
    view.date.setDate(QDate(DAY.year, DAY.month, DAY.day))
    qtbot.waitUntil(lambda: view.grid.page is not None and view.grid.page.first == DAY)
    yield view
    for d in (view.dialog, view.question):
        if d is not None:
            d.reject()  # nothing left open for the next test's windows


def cell(view: BookView, chair_id: str | None, hour: int, minute: int = 0) -> QPoint:
    g = view.grid
    col = next(i for i, c in enumerate(g.columns) if c.chair_id == chair_id)
    return g.slot_rect(col, (hour * 60 + minute - DAY_START) // SLOT).center()


def drag(qtbot, view: BookView, start: QPoint, end: QPoint) -> None:
    g = view.grid
    qtbot.mousePress(g, LEFT, pos=start)
    qtbot.mouseMove(g, (start + end) / 2)
    qtbot.mouseMove(g, end)
    qtbot.mouseRelease(g, LEFT, pos=end)


def entries(view: BookView, ctx) -> list:
    return ctx.store.book.page(ctx.viewer, DAY).entries


def shown(view: BookView) -> list[str]:
    return [entry_text(p.entry) for p in view.grid.placed]


def refreshed(view: BookView, qtbot, test) -> None:
    qtbot.waitUntil(lambda: test([p.entry for p in view.grid.placed]))


def choose_patient(dialog: BookingDialog, qtbot, text: str) -> None:
    qtbot.keyClicks(dialog.search, text)
    qtbot.waitUntil(lambda: dialog.matches.count() > 0)
    qtbot.keyClick(dialog.search, Qt.Key.Key_Return)
    assert dialog.patient_id is not None


def booking_dialog(view: BookView, qtbot) -> BookingDialog:
    qtbot.waitUntil(lambda: isinstance(view.dialog, BookingDialog) and view.dialog.isVisible())
    return view.dialog  # type: ignore[return-value]


def save(dialog: BookingDialog) -> None:
    dialog.buttons.button(dialog.buttons.StandardButton.Save).click()


def test_drag_over_free_slots_books_them(book, ctx, clinic, qtbot) -> None:
    _, (one, _two), _, _ = clinic
    drag(qtbot, book, cell(book, one.id, 9), cell(book, one.id, 9, 45))
    dialog = booking_dialog(book, qtbot)
    assert dialog.minutes.value() == 60 and dialog.chair.currentData() == one.id
    save(dialog)
    assert "Choose the patient" in dialog.error.text()  # nobody booked without a patient
    choose_patient(dialog, qtbot, "Nad")
    qtbot.keyClicks(dialog.procedure, "Root canal")
    save(dialog)
    refreshed(book, qtbot, lambda es: len(es) == 1)
    assert shown(book) == [f"{at(9):%H:%M} Nadia Khoury\nRoot canal"]
    [e] = entries(book, ctx)
    assert (e.starts_at, e.duration_minutes, e.chair_id) == (at(9), 60, one.id)
    assert not dialog.isVisible()
    assert book.summary.text() == "1 appointment"


def test_drag_moves_to_another_chair_and_the_edge_resizes(book, ctx, clinic, qtbot) -> None:
    v, (one, two), nadia, _ = clinic
    a = ctx.store.book.book(v, Booking(nadia.id, at(9), 30, one.id, None, "Filling"))
    book.reload()
    refreshed(book, qtbot, lambda es: len(es) == 1)
    grab = book.grid.entry_rect(a.id).center()
    drag(qtbot, book, grab, cell(book, two.id, 10, 15))
    refreshed(book, qtbot, lambda es: es[0].chair_id == two.id)
    [e] = entries(book, ctx)
    assert (e.starts_at, e.duration_minutes, e.chair_id) == (at(10, 15), 30, two.id)
    # The lower edge dragged down to the 11:00 row: it now ends at 11:15.
    edge = book.grid.entry_rect(a.id).bottomLeft() + QPoint(10, -2)
    drag(qtbot, book, edge, cell(book, two.id, 11))
    refreshed(book, qtbot, lambda es: es[0].duration_minutes == 60)
    assert entries(book, ctx)[0].starts_at == at(10, 15)


def test_a_clash_warns_and_when_confirmed_both_show_marked(book, ctx, clinic, qtbot) -> None:
    v, (one, _), _, omar = clinic
    ctx.store.book.book(v, Booking(omar.id, at(15, 30), 30, one.id, None, "Check-up"))
    book.reload()
    refreshed(book, qtbot, lambda es: len(es) == 1)
    # First the user thinks better of it: nothing is booked.
    for answer in (QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes):
        # From the free 15:00 slot down over Omar's 15:30.
        drag(qtbot, book, cell(book, one.id, 15), cell(book, one.id, 15, 45))
        dialog = booking_dialog(book, qtbot)
        choose_patient(dialog, qtbot, "Nadia")
        save(dialog)
        qtbot.waitUntil(lambda: book.question is not None and book.question.isVisible())
        assert "Omar Saleh" in book.question.text() and "Chair 1" in book.question.text()
        book.question.button(answer).click()
        if answer == QMessageBox.StandardButton.No:
            assert dialog.isVisible() and len(entries(book, ctx)) == 1
            dialog.reject()
    refreshed(book, qtbot, lambda es: len(es) == 2)
    assert all(e.clash for e in entries(book, ctx))
    assert all(text.startswith("⚠") for text in shown(book))
    # Side by side in the chair's column, neither hidden under the other.
    first, second = (book.grid.placed_rect(p) for p in book.grid.placed)
    assert not first.intersects(second)
    assert book.summary.text() == "2 appointments, 2 clashing"


def test_del_cancels_with_a_reason_and_the_appointment_stays(book, ctx, clinic, qtbot) -> None:
    v, (one, _), nadia, _ = clinic
    a = ctx.store.book.book(v, Booking(nadia.id, at(9), 30, one.id, None))
    book.reload()
    refreshed(book, qtbot, lambda es: len(es) == 1)
    qtbot.mouseClick(book.grid, LEFT, pos=book.grid.entry_rect(a.id).center())
    qtbot.keyClick(book.grid, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: isinstance(book.dialog, CancelDialog))
    d: CancelDialog = book.dialog  # type: ignore[assignment]
    assert not d.ok.isEnabled()  # no cancelling without saying why
    qtbot.keyClicks(d.reason, "Called in sick")
    d.ok.click()
    refreshed(book, qtbot, lambda es: es[0].status == "cancelled")
    [e] = entries(book, ctx)
    assert e.cancel_reason == "Called in sick" and e.status_by == v.user_id
    assert shown(book) == [f"{at(9):%H:%M} Nadia Khoury\nCancelled"]
    assert book.summary.text() == "0 appointments"


def test_double_click_opens_and_marks_arrived(book, ctx, clinic, qtbot) -> None:
    v, (one, _), nadia, _ = clinic
    a = ctx.store.book.book(v, Booking(nadia.id, at(9), 30, one.id, None, "Scaling"))
    book.reload()
    refreshed(book, qtbot, lambda es: len(es) == 1)
    qtbot.mouseDClick(book.grid, LEFT, pos=book.grid.entry_rect(a.id).center())
    dialog = booking_dialog(book, qtbot)
    assert dialog.chosen.text() == "Nadia Khoury" and dialog.procedure.text() == "Scaling"
    dialog.status_buttons["arrived"].click()
    refreshed(book, qtbot, lambda es: es[0].status == "arrived")
    assert not dialog.isVisible()
    assert "Arrived" in shown(book)[0]
    # Opened again, it says when and by whom.
    qtbot.mouseDClick(book.grid, LEFT, pos=book.grid.entry_rect(a.id).center())
    dialog = booking_dialog(book, qtbot)
    line = dialog.findChild(type(dialog.error), "statusLine").text()
    assert line.startswith("Status: Arrived at ") and line.endswith("by Dr Admin")


def test_keyboard_books_and_opens(book, ctx, clinic, qtbot) -> None:
    _, (_, two), _, _ = clinic
    g = book.grid
    g.setFocus()
    qtbot.waitUntil(g.hasFocus)
    start = g.cursor_cell
    for key in (Qt.Key.Key_Right, Qt.Key.Key_Down, Qt.Key.Key_Down):
        qtbot.keyClick(g, key)
    assert g.cursor_cell == (start[0] + 1, start[1] + 2)
    qtbot.keyClick(g, Qt.Key.Key_Insert)
    dialog = booking_dialog(book, qtbot)
    assert dialog.chair.currentData() == two.id
    choose_patient(dialog, qtbot, "Omar")
    save(dialog)
    refreshed(book, qtbot, lambda es: len(es) == 1)
    [e] = entries(book, ctx)
    assert e.starts_at == at(9, 30) and e.chair_id == two.id
    assert e.duration_minutes == ctx.store.settings.get("default_appointment_minutes")
    # The cursor is on it: Enter opens it.
    g.setFocus()
    qtbot.keyClick(g, Qt.Key.Key_Up)
    qtbot.keyClick(g, Qt.Key.Key_Down)
    assert g.selected == e.id
    qtbot.keyClick(g, Qt.Key.Key_Return)
    dialog = booking_dialog(book, qtbot)
    assert dialog.entry is not None and dialog.entry.id == e.id


def test_week_view_and_provider_filter(book, ctx, clinic, qtbot) -> None:
    v, (one, _), nadia, omar = clinic
    ctx.store.book.book(v, Booking(nadia.id, at(9), 30, one.id, v.user_id))
    later = at(9) + dt.timedelta(days=2)
    ctx.store.book.book(v, Booking(omar.id, later, 30, one.id, None))
    book.week.click()
    qtbot.waitUntil(lambda: book.grid.page.days == 7)
    assert len(book.grid.columns) == 14
    assert {(book.grid.columns[p.column].day, p.entry.patient_name) for p in book.grid.placed} == {
        (DAY, "Nadia Khoury"),
        (DAY + dt.timedelta(days=2), "Omar Saleh"),
    }
    book.provider.setCurrentIndex(book.provider.findData(v.user_id))
    assert [p.entry.patient_name for p in book.grid.placed] == ["Nadia Khoury"]


def test_new_appointment_from_a_patients_file_warns_of_a_clash(window, ctx, clinic, qtbot):
    v, (one, _), nadia, omar = clinic
    ctx.store.book.book(v, Booking(omar.id, at(15, 30), 30, one.id, None, "Check-up"))
    window.open_patient(nadia.id)
    page = window.patient_page
    qtbot.waitUntil(lambda: page.title.text() == "Nadia Khoury")
    page.findChild(QPushButton, "newAppointment").click()
    qtbot.waitUntil(lambda: any(d.isVisible() for d in page.findChildren(BookingDialog)))
    dialog = next(d for d in page.findChildren(BookingDialog) if d.isVisible())
    assert dialog.chosen.text() == "Nadia Khoury" and dialog.chair.currentData() == one.id
    dialog.start.setDateTime(QDateTime(QDate(DAY.year, DAY.month, DAY.day), QTime(15, 45)))
    save(dialog)
    qtbot.waitUntil(lambda: page.booking.question is not None)
    assert "Omar Saleh" in page.booking.question.text()
    page.booking.question.button(QMessageBox.StandardButton.Yes).click()
    qtbot.waitUntil(lambda: len(entries(None, ctx)) == 2)
    assert [(e.patient_name, e.clash) for e in entries(None, ctx)] == [
        ("Omar Saleh", True),
        ("Nadia Khoury", True),
    ]
    qtbot.waitUntil(lambda: page.appointments.rowCount() == 1)
    qtbot.waitUntil(lambda: not dialog.isVisible())


def test_an_administrator_adds_and_retires_chairs(book, window, ctx, qtbot) -> None:
    from app.ui.schedule.chairs_dialog import ChairsDialog

    window.show_chairs()
    qtbot.waitUntil(lambda: window.findChild(ChairsDialog) is not None)
    dialog = window.findChild(ChairsDialog)
    qtbot.waitUntil(lambda: dialog.list.count() == 2)
    qtbot.keyClicks(dialog.name, "Hygiene")
    qtbot.keyClick(dialog.name, Qt.Key.Key_Return)
    titles = ["Chair 1", "Chair 2", "Hygiene"]
    qtbot.waitUntil(lambda: [c.title for c in book.grid.columns] == titles)
    qtbot.waitUntil(lambda: dialog.list.count() == 3)
    assert dialog.isVisible()  # Enter adds the chair, it does not close the window
    dialog.list.setCurrentRow(0)
    dialog.toggle.click()
    qtbot.waitUntil(lambda: [c.title for c in book.grid.columns] == ["Chair 2", "Hygiene"])
    qtbot.waitUntil(lambda: dialog.list.item(0).text() == "Chair 1 (not in the book)")
    dialog.list.setCurrentRow(1)
    qtbot.keyClicks(dialog.name, "Surgery")
    dialog.findChild(QPushButton, "renameChair").click()
    qtbot.waitUntil(lambda: [c.title for c in book.grid.columns] == ["Surgery", "Hygiene"])
    dialog.close()


def test_a_new_booking_is_for_the_provider_shown_or_the_only_one(book, ctx, clinic,
                                                                  qtbot) -> None:
    v, (one, _), _, _ = clinic
    assert [p.id for p in book.providers] == [v.user_id]  # the practice's one provider
    drag(qtbot, book, cell(book, one.id, 9), cell(book, one.id, 9, 15))
    dialog = booking_dialog(book, qtbot)
    assert dialog.provider.currentData() == v.user_id
    choose_patient(dialog, qtbot, "Nad")
    save(dialog)
    refreshed(book, qtbot, lambda es: len(es) == 1)
    assert entries(book, ctx)[0].doctor_id == v.user_id
