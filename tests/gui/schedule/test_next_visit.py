"""A record's "next visit" in the book and the diary: proposed on its day until the
patient is booked, and booked with one click into the first free slot."""

from __future__ import annotations

from PySide6.QtCore import QDate

from app.store.schedule.dto import Booking
from app.ui.schedule.book_view import BookView
from tests.gui.schedule.test_book import (  # noqa: F401
    DAY,
    at,
    book,
    booking_dialog,
    clinic,
    entries,
    save,
)


def test_a_records_next_visit_is_proposed_and_booked_in_one_click(
    book: BookView, window, ctx, clinic, qtbot  # noqa: F811
) -> None:
    v, (one, two), nadia, omar = clinic
    # Chair 1 is taken at 08:00 by Omar; Nadia's last record asks for 45 minutes on DAY.
    ctx.store.book.book(v, Booking(omar.id, at(8), 60, one.id, None))
    ctx.store.records.add_visit(v, nadia.id, {
        "visit_date": "2026-11-20", "name": "Crown prep",
        "next_visit_date": DAY.isoformat(), "next_visit_minutes": 45,
    })
    # The record went in through the store, not a window: the diary is asked to read
    # again, as the book is below (on DAY itself the date box does not change).
    window.diary.date.setDate(QDate(DAY.year, DAY.month, DAY.day))
    window.diary.reload()
    qtbot.waitUntil(lambda: "Nadia Khoury (45 min)" in window.diary.next_visits.text())
    book.reload()
    qtbot.waitUntil(lambda: len(book.proposal_buttons) == 1)
    button = book.proposal_buttons[0]
    assert button.isVisible() and button.text() == "Book Nadia Khoury (45 min)"
    button.click()
    dialog = booking_dialog(book, qtbot)
    assert dialog.chosen.text() == "Nadia Khoury" and dialog.procedure.text() == "Crown prep"
    assert dialog.minutes.value() == 45
    # The first free slot: 08:00 in the other chair.
    assert dialog.chair.currentData() == two.id
    assert dialog.start.dateTime().toPython() == at(8).replace(tzinfo=None)
    save(dialog)
    qtbot.waitUntil(lambda: len(entries(book, ctx)) == 2)
    qtbot.waitUntil(lambda: not book.proposals.isVisible())
    mine = next(e for e in entries(book, ctx) if e.patient_id == nadia.id)
    assert (mine.starts_at, mine.chair_id, mine.clash) == (at(8), two.id, False)
    qtbot.waitUntil(lambda: window.diary.next_visits.text() == "")
