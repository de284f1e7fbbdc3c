from __future__ import annotations

import uuid

import pytest

from app.core.hlc import MAX_DRIFT_MS, Clock, Timestamp, clamp
from app.core.ids import Uuid7Source, is_uuid, new_node_id, uuid7, uuid7_time_ms


def test_uuid7_is_version_7_and_carries_its_time() -> None:
    u = Uuid7Source()(now_ms=1_700_000_000_123)
    assert u.version == 7 and u.variant == uuid.RFC_4122
    assert uuid7_time_ms(u) == 1_700_000_000_123


def test_uuid7_strictly_increases_within_one_millisecond() -> None:
    source = Uuid7Source()
    ids = [source(now_ms=1_800_000_000_000) for _ in range(1000)]
    assert ids == sorted(ids) and len(set(ids)) == 1000


def test_uuid7_with_a_clock_going_backwards_stays_increasing() -> None:
    source = Uuid7Source()
    a = source(now_ms=1_900_000_000_000)
    b = source(now_ms=1_899_999_999_000)
    assert b > a


def test_is_uuid_rejects_junk() -> None:
    assert is_uuid(str(uuid7()))
    assert not is_uuid("x" * 36)
    assert not is_uuid(12)


class FakeWall:
    def __init__(self, t: int) -> None:
        self.t = t

    def __call__(self) -> int:
        return self.t


def test_clock_never_goes_backwards_when_wall_time_does() -> None:
    wall = FakeWall(1000)
    clock = Clock(new_node_id(), wall=wall)
    a = clock.now()
    wall.t = 500
    b = clock.now()
    assert b > a and b.wall_ms == 1000 and b.counter == a.counter + 1


def test_observe_moves_past_remote_and_breaks_ties_by_node() -> None:
    wall = FakeWall(1000)
    mine = Clock("0" * 15 + "1", wall=wall)
    remote = Timestamp(5000, 7, "f" * 16)
    after = mine.observe(remote)
    assert after > Timestamp(5000, 7, "0" * 16)
    assert after.wall_ms == 5000 and after.counter == 8
    assert mine.now() > after


def test_remote_far_in_future_is_clamped() -> None:
    wall = FakeWall(1_000_000)
    clock = Clock(new_node_id(), wall=wall)
    evil = Timestamp(10**12, 0, "a" * 16)
    seen = clock.observe(evil)
    assert seen.wall_ms <= 1_000_000 + MAX_DRIFT_MS
    assert clamp(evil, 1_000_000).wall_ms == 1_000_000 + MAX_DRIFT_MS


def test_text_form_sorts_like_the_timestamp() -> None:
    stamps = [
        Timestamp(w, c, n) for w in (5, 10**12) for c in (0, 9, 300) for n in ("0" * 16, "f" * 16)
    ]
    assert sorted(stamps) == sorted(stamps, key=str)
    for s in stamps:
        assert Timestamp.parse(str(s)) == s


def test_parse_rejects_garbage() -> None:
    with pytest.raises(ValueError):
        Timestamp.parse("yesterday")


def test_counter_overflow_borrows_the_next_millisecond() -> None:
    wall = FakeWall(42)
    clock = Clock(new_node_id(), wall=wall)
    last = None
    for _ in range(70_000):
        ts = clock.now()
        assert last is None or ts > last
        last = ts
    assert last is not None and last.wall_ms == 43


@pytest.mark.parametrize("last_rand", [5, (1 << 62) - 3, (1 << 74) - 4])
def test_a_reserved_run_of_uuid7s_counts_up_and_is_never_made_again(last_rand: int) -> None:
    """"Update all" writes first, first + 1, ... in SQL: each must be a version 7 UUID
    of the same time, and the source goes on after the last of them."""
    src = Uuid7Source()
    future = uuid7_time_ms(str(uuid7())) + 60_000  # the clock stands still meanwhile
    src.next_int(future)
    src._last_rand = last_rand  # where counting up could overflow the random bits
    first = src.reserve(10)
    run = [uuid.UUID(int=first + k) for k in range(10)]
    assert all(u.version == 7 and u.variant == uuid.RFC_4122 for u in run)
    assert len({uuid7_time_ms(u) for u in run}) == 1 and uuid7_time_ms(run[0]) >= future
    after = src.next_int()
    assert after > first + 9 and uuid.UUID(int=after).version == 7
