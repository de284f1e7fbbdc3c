"""The appointment book across PCs: chairs set up once reach every PC, and two PCs
that book the same chair at the same time while apart keep both, clash marked."""

from __future__ import annotations

import datetime as dt

from app.store.schedule.dto import Booking
from app.ui.schedule.day_grid import DayGrid, entry_text

DAY = dt.date(2026, 12, 3)


def at(hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(DAY, dt.time(hour, minute)).astimezone()


def test_same_slot_booked_on_two_pcs_apart_keeps_both_marked(clinic, qtbot) -> None:
    a, b = clinic(2)
    va, vb = a.admin.viewer(), b.admin.viewer()
    chair = a.store.book.add_chair(va, "Chair 1")
    nadia = a.store.patients.create(va, {"first_name": "Nadia", "last_name": "Khoury"})
    omar = a.store.patients.create(va, {"first_name": "Omar", "last_name": "Saleh"})
    a.sync()
    b.sync()
    assert [c.name for c in b.store.book.chairs()] == ["Chair 1"]
    # Apart: each PC sees a free chair at 15:30 and books it.
    first = a.store.book.book(va, Booking(nadia.id, at(15, 30), 30, chair.id, None, "Filling"))
    slot = Booking(omar.id, at(15, 30), 45, chair.id, None, "Check-up")
    assert b.store.book.clashes(vb, slot) == []
    second = b.store.book.book(vb, slot)
    b.store.book.set_status(vb, second.id, "arrived")
    for pc in (a, b, a):
        pc.sync()
    pages = [pc.store.book.page(pc.admin.viewer(), DAY) for pc in (a, b)]
    for page in pages:
        assert [(e.id, e.patient_name, e.status, e.clash) for e in page.entries] == [
            (first.id, "Nadia Khoury", "booked", True),
            (second.id, "Omar Saleh", "arrived", True),
        ]
        grid = DayGrid()
        qtbot.addWidget(grid)
        grid.show_page(page)
        assert sorted(entry_text(p.entry).split("\n")[0] for p in grid.placed) == [
            f"⚠ {at(15, 30):%H:%M} Nadia Khoury",
            f"⚠ {at(15, 30):%H:%M} Omar Saleh",
        ]
        assert {p.lanes for p in grid.placed} == {2}  # side by side, both visible
    assert a.repo.outbox_counts() == (0, 0) and b.repo.outbox_counts() == (0, 0)


def test_working_hours_set_on_two_pcs_apart_merge_day_by_day(clinic) -> None:
    a, b = clinic(2)
    va, vb = a.admin.viewer(), b.admin.viewer()
    nadia = a.store.patients.create(va, {"first_name": "Nadia"})
    # Apart, the two PCs each set the same provider's hours, each for other days.
    a.store.book.hours.set_hours(va, va.user_id, {"mon": "08:00-12:00"})
    b.store.book.hours.set_hours(vb, va.user_id, {"mon": "08:00-12:00", "tue": "13:00-18:00"})
    for pc in (a, b, a):
        pc.sync()
    weeks = [pc.store.book.hours.all()[va.user_id].days for pc in (a, b)]
    assert weeks[0] == weeks[1]
    assert weeks[0][:2] == ((480, 720), (780, 1080))
    tuesday_noon = dt.datetime.combine(dt.date(2026, 12, 1), dt.time(12)).astimezone()
    late = Booking(nadia.id, tuesday_noon, 30, None, va.user_id)
    assert b.store.book.outside_hours(late) is not None  # Tuesday before 13:00
    assert a.repo.outbox_counts() == (0, 0) and b.repo.outbox_counts() == (0, 0)
