"""Providers' working hours in the store: set by an administrator, queued for the cloud
as wire-valid changes, and what the book's warning asks about."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app.core.wire import Mutation
from app.store.models import OutboxMutation
from app.store.patients.records_repo import InvalidRecordError
from app.store.schedule.dto import Booking

TUESDAY = dt.date(2026, 12, 1)


def at(hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(TUESDAY, dt.time(hour, minute)).astimezone()


def test_hours_are_set_by_an_admin_and_synced_as_one_row_per_provider(store, admin) -> None:
    v = admin.viewer()
    hours = store.book.hours
    hours.set_hours(v, v.user_id, {"mon": "08:00-17:00", "tue": "10:00-14:00"})
    hours.set_hours(v, v.user_id, {"mon": "08:00-17:00", "tue": "10:00-15:30"})
    week = hours.all()[v.user_id]
    assert week.days == ((480, 1020), (600, 930), None, None, None, None, None)
    with store.db.read() as s:
        rows = list(s.scalars(select(OutboxMutation).where(
            OutboxMutation.entity == "provider_hours").order_by(OutboxMutation.seq)))
    assert len({m.payload["entity_id"] for m in rows}) == 1
    for m in rows:
        Mutation.from_wire(m.payload)  # what the cloud will check
    assert rows[-1].payload["fields"] == {"tue": "10:00-15:30"}

    member = store.users.create("nadia", "Dr Nadia", "member-password", "member").viewer()
    with pytest.raises(InvalidRecordError, match="administrator"):
        hours.set_hours(member, member.user_id, {"mon": "08:00-17:00"})
    with pytest.raises(InvalidRecordError, match="ends after it starts"):
        hours.set_hours(v, member.user_id, {"mon": "17:00-08:00"})
    with pytest.raises(InvalidRecordError, match=r"^Thursday: A working day ends after"):
        hours.set_hours(v, member.user_id, {"mon": "08:00-17:00", "thu": "12:00-09:00"})


def test_outside_hours_is_asked_only_for_a_provider_with_hours(store, admin) -> None:
    v = admin.viewer()
    p = store.patients.create(v, {"first_name": "Nadia"})
    late = Booking(p.id, at(13, 45), 30, None, v.user_id)
    assert store.book.outside_hours(late) is None  # no hours set: no warning
    store.book.hours.set_hours(v, v.user_id, {"tue": "10:00-14:00"})
    assert store.book.outside_hours(late) is not None  # runs past 14:00
    assert store.book.outside_hours(Booking(p.id, at(13, 30), 30, None, v.user_id)) is None
    assert store.book.outside_hours(Booking(p.id, at(9), 30, None, None)) is None
