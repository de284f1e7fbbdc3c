"""The appointment book's store: chairs, booking, clashes, moving, statuses, sync."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app.store.models import OutboxMutation
from app.store.patients.records_repo import InvalidRecordError
from app.store.schedule.dto import Booking

DAY = dt.date(2026, 12, 1)


def at(hour: int, minute: int = 0, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute)).astimezone()


@pytest.fixture
def book(store, admin):
    v = admin.viewer()
    chair = store.book.add_chair(v, "Chair 1")
    p = store.patients.create(v, {"first_name": "Nadia", "last_name": "Khoury"})
    q = store.patients.create(v, {"first_name": "Omar", "last_name": "Saleh"})
    return store.book, v, chair, p, q


def test_same_chair_at_once_is_a_clash_and_both_stay(book) -> None:
    repo, v, chair, p, q = book
    first = repo.book(v, Booking(p.id, at(15, 30), 30, chair.id, None, "Filling"))
    second = Booking(q.id, at(15, 45), 30, chair.id, None, "Check-up")
    assert [e.id for e in repo.clashes(v, second)] == [first.id]
    repo.book(v, second)
    page = repo.page(v, DAY)
    assert [(e.patient_name, e.clash) for e in page.entries] == [
        ("Nadia Khoury", True),
        ("Omar Saleh", True),
    ]
    # Back to back is no clash; a cancelled appointment frees its slot but stays.
    assert repo.clashes(v, Booking(q.id, at(16, 15), 30, chair.id, None)) == []
    repo.set_status(v, first.id, "cancelled", "Patient has the flu")
    page = repo.page(v, DAY)
    assert [(e.status, e.clash) for e in page.entries] == [("cancelled", False), ("booked", False)]
    assert page.entries[0].cancel_reason == "Patient has the flu"
    assert page.entries[0].status_by == v.user_id and page.entries[0].status_at


def test_same_provider_in_two_chairs_is_a_clash(book, store) -> None:
    repo, v, chair, p, q = book
    other = repo.add_chair(v, "Chair 2")
    repo.book(v, Booking(p.id, at(9), 60, chair.id, v.user_id))
    assert len(repo.clashes(v, Booking(q.id, at(9, 30), 30, other.id, v.user_id))) == 1
    assert repo.clashes(v, Booking(q.id, at(9, 30), 30, other.id, None)) == []


def test_cancel_needs_a_reason_and_move_keeps_the_rest(book) -> None:
    repo, v, chair, p, _ = book
    a = repo.book(v, Booking(p.id, at(10), 30, chair.id, None, "Crown", "Bring x-ray"))
    with pytest.raises(InvalidRecordError):
        repo.set_status(v, a.id, "cancelled", "  ")
    moved = repo.move(v, a.id, at(11), 45, None)
    assert (moved.starts_at, moved.duration_minutes, moved.chair_id) == (at(11), 45, None)
    assert (moved.reason, moved.note) == ("Crown", "Bring x-ray")
    repo.set_status(v, a.id, "arrived")
    assert repo.get(v, a.id).status == "arrived"


def test_book_changes_are_queued_for_the_cloud(book, store) -> None:
    repo, v, chair, p, _ = book
    a = repo.book(v, Booking(p.id, at(12), 30, chair.id, None))
    repo.set_status(v, a.id, "no_show")
    with store.db.read() as s:
        rows = s.scalars(select(OutboxMutation).order_by(OutboxMutation.seq))
        queued = [(m.entity, sorted(m.payload["fields"])) for m in rows]
    assert ("chair", ["active", "deleted", "name", "position"]) in queued
    assert queued[-1] == ("appointment", ["status", "status_at", "status_by"])


def test_a_member_sees_his_clash_but_not_who_it_is_with(book, store) -> None:
    repo, v, chair, p, _ = book
    repo.book(v, Booking(p.id, at(10), 30, chair.id, None, "Filling"))
    member = store.users.create("nadia", "Dr Nadia", "member-password", "member").viewer()
    own = store.patients.create(member, {"first_name": "Lina", "last_name": "Haddad"})
    slot = Booking(own.id, at(10), 30, chair.id, None)
    assert [e.patient_name for e in repo.clashes(member, slot)] == ["another patient"]
    repo.book(member, slot)
    assert [(e.patient_name, e.clash) for e in repo.page(member, DAY).entries] == [
        ("Lina Haddad", True)
    ]
    assert [e.clash for e in repo.page(v, DAY).entries] == [True, True]


def test_the_clash_sweep_agrees_with_comparing_every_pair() -> None:
    import random

    from app.store.schedule.book_repo import clashing_ids

    rnd = random.Random(15)
    for _ in range(50):
        spans = []
        for i in range(40):
            start = at(8) + dt.timedelta(minutes=5 * rnd.randrange(60))
            end = start + dt.timedelta(minutes=rnd.choice((10, 15, 30, 60, 120)))
            spans.append((f"a{i}", start, end, rnd.choice(("c1", "c2", None)),
                          rnd.choice(("d1", "d2", None))))
        expected = {
            a[0]
            for a in spans
            for b in spans
            if a is not b and a[1] < b[2] and b[1] < a[2]
            and ((a[3] and a[3] == b[3]) or (a[4] and a[4] == b[4]))
        }
        assert clashing_ids(spans) == expected
