"""The appointment book on a busy week of a large practice.

    .venv/bin/python bench/book.py --patients 100000

On a copy of the benchmark database (bench/_data.py, built once) adds 10 chairs and,
for each of the 7 days of a week, 60 appointments per chair, then measures:

- day_view_ms: from asking the book for a day to its grid painted (the store's read,
  the layout and one full paint of the offscreen widget), median of the runs;
- week_view_ms: the same for the week (70 columns, 4,200 appointments);
- book_ms: one booking as the book makes it: the clash check, then the write to the
  store (with its outbox entry), median.

Also printed: the process's CPU time for the same views, what the wall time would be
on an idle machine (a shared machine's load shows in the wall times).

`--profile` prints where the week view's time goes (cProfile of the store's read, and of
the grid's layout and paint).

Last line: day_view_ms=<a> week_view_ms=<b> book_ms=<c> patients=<N>
Targets: week view < 100 ms from click to painted; booking < 50 ms to the store.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._data import (
    ADMIN_PASSWORD,
    ADMIN_USER,
    OUT,
    ensure_database,
    prepare_environment,
    secret_store,
)

CHAIRS = 10
PER_CHAIR_DAY = 60
WEEK = dt.date(2026, 12, 7)  # a Monday


def copy_database(path: Path) -> Path:
    """A scratch copy with its key, so the cached database stays as built."""
    from app.store import keys

    copy = OUT / f"book-{path.name}"
    for suffix in ("", "-wal", "-shm"):
        Path(str(copy) + suffix).unlink(missing_ok=True)
    shutil.copyfile(path, copy)
    target = keys.key_file_path(copy)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(keys.key_file_path(path), target)
    os.chmod(target, 0o600)
    return copy


def fill_week(store, viewer, rnd: random.Random, n_patients: int) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from app.store.models import Appointment, Patient
    from app.store.schedule.book_repo import utc_text

    chairs = [store.book.add_chair(viewer, f"Chair {i + 1}") for i in range(CHAIRS)]
    with store.db.read() as s:
        nums = rnd.sample(range(1, n_patients + 1), min(n_patients, 5000))
        ids = list(s.scalars(select(Patient.id).where(Patient.num.in_(nums))))
    step = (14 * 60) // PER_CHAIR_DAY  # minutes between starts in a 07:00-21:00 day
    with store.db.write() as s:
        for d in range(7):
            day = WEEK + dt.timedelta(days=d)
            for c in chairs:
                for i in range(PER_CHAIR_DAY):
                    start = dt.datetime.combine(day, dt.time(7)) + dt.timedelta(minutes=i * step)
                    s.add(
                        Appointment(
                            patient_id=rnd.choice(ids),
                            starts_at=utc_text(start.astimezone()),
                            duration_minutes=rnd.choice((10, 15, 20, 30)),
                            reason="Check-up",
                            status="booked",
                            chair_id=c.id,
                        )
                    )
            s.flush()


def profile_week(store, viewer, view, app) -> None:  # type: ignore[no-untyped-def]
    """cProfile of the two halves of a week shown: the store's read (on a reader thread
    in the app) and the grid's layout and paint (on the UI thread)."""
    import cProfile
    import pstats

    read = cProfile.Profile()
    read.enable()
    for _ in range(5):
        page = store.book.page(viewer, WEEK, 7)
    read.disable()
    paint = cProfile.Profile()
    paint.enable()
    for _ in range(5):
        view.grid.show_page(page)
        view.grid.repaint()
    paint.disable()
    for title, prof in (("store read x5", read), ("layout and paint x5", paint)):
        print(f"--- {title}")
        pstats.Stats(prof).sort_stats("cumulative").print_stats(14)


def main() -> None:  # noqa: PLR0915
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--patients", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--profile", action="store_true",
                    help="print where the week view's time goes (store read, layout, paint)")
    args = ap.parse_args()
    prepare_environment()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    path = copy_database(ensure_database(args.patients))

    from PySide6.QtCore import QDate, QEventLoop
    from PySide6.QtWidgets import QApplication

    from app.store.db import open_database
    from app.store.schedule.dto import Booking
    from app.store.services import Store
    from app.ui.schedule.book_view import BookView
    from app.ui.shell.context import AppContext
    from app.ui.shell.ops import OpRunner

    app = QApplication.instance() or QApplication([])
    db = open_database(path, secret_store(), create=False)
    store = Store.over(db)
    user = store.users.authenticate(ADMIN_USER, ADMIN_PASSWORD)
    assert user is not None and user.is_admin
    viewer = user.viewer()
    rnd = random.Random(20261130)
    started = time.perf_counter()
    fill_week(store, viewer, rnd, args.patients)
    print(f"{CHAIRS} chairs x {PER_CHAIR_DAY} a day x 7 days added in "
          f"{time.perf_counter() - started:.1f} s")

    ops = OpRunner()
    view = BookView(AppContext(store, user, ops))
    view.resize(1600, 1000)
    view.show()
    ops.drain()
    app.processEvents()

    cpu: dict[int, list[float]] = {1: [], 7: []}
    last_cpu = [0.0]

    def shown(first: dt.date, days: int) -> float:
        t0, c0 = time.perf_counter(), time.process_time()
        view.date.setDate(QDate(first.year, first.month, first.day))  # asks the store
        while view.grid.page is None or (view.grid.page.first, view.grid.page.days) != (
            first, days
        ):
            # Sleeps until the read answers: a busy loop here would hold the GIL from
            # the reader thread and measure itself.
            app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
        view.grid.repaint()  # painted, not only scheduled
        last_cpu[0] = (time.process_time() - c0) * 1000
        return (time.perf_counter() - t0) * 1000

    day_ms, week_ms = [], []
    for r in range(args.runs + 1):
        day = WEEK + dt.timedelta(days=r % 5)
        if view.week.isChecked():
            view.week.setChecked(False)
        ms = shown(day, 1)
        if r:
            day_ms.append(ms)
            cpu[1].append(last_cpu[0])
    view.week.setChecked(True)
    ops.drain()
    app.processEvents()
    for r in range(2 * args.runs + 1):
        first = WEEK if r % 2 == 0 else WEEK + dt.timedelta(days=7)  # to and fro
        ms = shown(first, 7)
        if r and first == WEEK:
            week_ms.append(ms)
            cpu[7].append(last_cpu[0])
    n_day = len(store.book.page(viewer, WEEK).entries)
    n_week = len(store.book.page(viewer, WEEK, 7).entries)
    print(f"day: {n_day} appointments, week: {n_week}")

    if args.profile:
        profile_week(store, viewer, view, app)

    with db.read() as s:
        from sqlalchemy import select

        from app.store.models import Patient

        patient_ids = list(s.scalars(select(Patient.id).limit(200)))
    chair = store.book.chairs()[0].id
    book_ms = []
    for i in range(args.runs * 3):
        b = Booking(
            rnd.choice(patient_ids),
            dt.datetime.combine(WEEK + dt.timedelta(days=14), dt.time(8)).astimezone()
            + dt.timedelta(minutes=15 * i),
            15,
            chair,
            None,
            "Check-up",
        )
        t0 = time.perf_counter()
        store.book.clashes(viewer, b)
        store.book.book(viewer, b)
        book_ms.append((time.perf_counter() - t0) * 1000)
    view.close()
    ops.shutdown()
    db.close()
    # CPU time of the process (the reader thread and the UI's) for the same shows: what
    # the wall time would be on an idle machine, whatever else runs on this one.
    print(f"day view cpu ms: median {statistics.median(cpu[1]):.1f}; week view cpu ms: "
          f"median {statistics.median(cpu[7]):.1f} (load average {os.getloadavg()[0]:.1f})")
    print(f"day view ms: median {statistics.median(day_ms):.1f}, max {max(day_ms):.1f}")
    print(f"week view ms: median {statistics.median(week_ms):.1f}, max {max(week_ms):.1f}")
    print(f"book ms: median {statistics.median(book_ms):.1f}, max {max(book_ms):.1f}")
    print(
        f"day_view_ms={statistics.median(day_ms):.1f} week_view_ms={statistics.median(week_ms):.1f}"
        f" book_ms={statistics.median(book_ms):.1f} patients={args.patients}"
    )


if __name__ == "__main__":
    main()
