"""Search as you type over a large practice database.

    .venv/bin/python bench/search.py --patients 100000

Builds (once, cached in bench/out/) an encrypted database of N patients with about
five visits each, then types queries one character at a time — name prefixes in
several scripts, parts of phone numbers of 1 to 10 digits, email prefixes, card
numbers — and measures:

- the data layer: PatientsRepo.search(admin, PatientFilter(query=q)), the first page
  in display order (and, in a pass of its own, count(), which the list shows beside
  it once typing pauses);
- the UI: from the key event in the patient list's search box (QTest, offscreen) to
  the Qt model holding the new rows (PatientListModel.rowsLoaded).

The data layer is also timed in CPU time of the searching thread (cpu_p95_ms), a
figure the other work of a shared machine disturbs less than the clock's.
--under-load runs a CPU-bound neighbour process for the whole run (one per core but
one, at least one): the figures of a busy PC.

Last line: p50_ms=<a> p95_ms=<b> cpu_p95_ms=<c> ui_p95_ms=<d> rss_mb=<e> patients=<N>
(rss_mb: this process's peak resident memory.)
Targets at 100k: data layer p95 < 1 ms quiet, < 2 ms under load; keystroke to model
p95 < 30 ms. At 1M: data layer p95 < 5 ms; keystroke to model p95 < 50 ms.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import resource
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._data import (
    ADMIN_PASSWORD,
    ADMIN_USER,
    ensure_database,
    prepare_environment,
    secret_store,
)

Query = tuple[str, str]  # (kind, text)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = math.floor(k), math.ceil(k)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def typed(text: str) -> list[str]:
    """What the search box holds after each keystroke while `text` is typed."""
    return [text[:i] for i in range(1, len(text) + 1)]


def words(store: Any, rnd: random.Random, n_patients: int) -> list[tuple[str, str]]:
    """(kind, full text) the front desk types, taken from real patients."""
    from sqlalchemy import select

    from app.core.text import digits
    from app.store.models import Patient

    sample = rnd.sample(range(1, n_patients + 1), min(n_patients, 120))
    with store.db.read() as s:
        cols = (
            Patient.first_name,
            Patient.last_name,
            Patient.mobile,
            Patient.email,
            Patient.card_number,
        )
        people = s.execute(select(*cols).where(Patient.num.in_(sample))).all()
    rnd.shuffle(people)
    out: list[tuple[str, str]] = []
    for i, p in enumerate(people):
        slot = i % 8
        if slot in (0, 1, 2):  # names: first, last, or "first last"
            if slot == 0:
                text = p.first_name
            elif slot == 1:
                text = p.last_name or p.first_name
            else:
                text = f"{p.first_name} {p.last_name or ''}".strip()[:14]
            out.append(("name", text.lower() if rnd.random() < 0.7 else text))
        elif slot in (3, 4) and p.mobile:  # 1..10 digits from somewhere in the number
            d = digits(p.mobile)
            start = rnd.choice([0, 0, len(d) - 10, rnd.randrange(0, max(1, len(d) - 6))])
            out.append(("phone", d[max(0, start) :][:10]))
        elif slot == 5 and p.email:
            out.append(("email", p.email[:14]))
        elif slot == 6 and p.card_number:
            out.append(("card", p.card_number))
        else:
            out.append(("name", (p.last_name or p.first_name).lower()))
    return out


Timings = dict[str, list[float]]  # milliseconds, by kind of query


def measure_data_layer(
    store: Any, viewer: Any, sequences: list[tuple[str, str]], *, counts: bool = True
) -> tuple[Timings, Timings, Timings]:
    """Search (clock and CPU) and count times of each query as typed."""
    from app.store.dto import PatientFilter

    search_ms: Timings = defaultdict(list)
    cpu_ms: Timings = defaultdict(list)
    count_ms: Timings = defaultdict(list)
    found: dict[str, int] = {}
    for kind, text in sequences:
        for q in typed(text):
            c0, t0 = time.thread_time(), time.perf_counter()
            rows = store.patients.search(viewer, PatientFilter(query=q))
            t1, c1 = time.perf_counter(), time.thread_time()
            if not rows:
                raise SystemExit(f"search for {q!r} ({kind}) found nobody")
            found[q] = len(rows)
            search_ms[kind].append((t1 - t0) * 1000)
            cpu_ms[kind].append((c1 - c0) * 1000)
    # The counts in a pass of their own: the app counts once typing pauses (250 ms after
    # the last key), not between two keystrokes, and a count reads a whole bucket,
    # pages that would otherwise stand in the next keystroke's way.
    for kind, text in sequences if counts else ():
        for q in typed(text):
            t1 = time.perf_counter()
            n = store.patients.count(viewer, PatientFilter(query=q))
            count_ms[kind].append((time.perf_counter() - t1) * 1000)
            if n < found[q]:
                raise SystemExit(f"search for {q!r} ({kind}) found {found[q]} rows, count {n}")
    return search_ms, cpu_ms, count_ms


@contextmanager
def neighbours(on: bool) -> Iterator[int]:
    """CPU-bound processes beside this one while the block runs (none unless `on`): one
    per core but one, at least one. Yields how many; stops each by its pid."""
    count = max(1, (os.cpu_count() or 2) - 1) if on else 0
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        yield count
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait()


def rss_mb() -> tuple[float, float]:
    """This process's (peak, current) resident memory in MiB."""
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    with open("/proc/self/statm") as f:
        current = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    return peak_kib / 1024, current / 2**20


def filter_stderr(noise: str) -> None:
    """Drop lines containing `noise` from this process's stderr (fd 2), C++ writes included."""
    import threading

    read_fd, write_fd = os.pipe()
    original = os.dup(2)
    os.dup2(write_fd, 2)
    os.close(write_fd)

    def pump() -> None:
        with os.fdopen(read_fd, "rb") as src, os.fdopen(original, "wb", buffering=0) as dst:
            for line in src:
                if noise.encode() not in line:
                    dst.write(line)

    threading.Thread(target=pump, daemon=True).start()


_PINNED: list[object] = []


def pin_singletons() -> None:
    """Hold many references to None, True and False for the rest of the process.

    PySide6 6.12 on CPython 3.11 drops a reference to None (and to True/False) on every
    call of a Qt method that returns nothing; before 3.12 made them immortal, enough
    such calls deallocate None and abort the process (none_dealloc) part-way through
    the typing below. The references held here keep the count far from zero.
    """
    if sys.version_info < (3, 12) and not _PINNED:
        _PINNED.extend([None, True, False] * 2_000_000)


def ui_available() -> bool:
    root = Path(__file__).resolve().parents[1] / "app" / "ui" / "patients"
    return (root / "patient_list_view.py").exists() and (root / "patient_list_model.py").exists()


def measure_ui(  # noqa: PLR0915
    store: Any, user: Any, sequences: list[tuple[str, str]], interval_ms: float
) -> list[float]:
    """Key event to model rows, one character at a time, at a typist's pace."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    filter_stderr("propagateSizeHints")  # the offscreen platform's chatter
    pin_singletons()
    from PySide6.QtCore import QEventLoop, Qt, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication, QWidget

    from app.ui.patients.patient_list_view import PatientListView
    from app.ui.shell.context import AppContext
    from app.ui.shell.ops import OpRunner

    def type_key(widget: QWidget, ch: str) -> None:
        if ch.isascii():
            QTest.keyClicks(widget, ch)
        else:  # QTest maps only ASCII to key codes; other scripts arrive as text
            QTest.sendKeyEvent(
                QTest.KeyAction.Click,
                widget,
                Qt.Key.Key_unknown,
                ch,
                Qt.KeyboardModifier.NoModifier,
            )

    app = QApplication.instance() or QApplication([])
    ops = OpRunner()
    view = PatientListView(AppContext(store, user, ops))
    view.resize(1200, 800)
    view.show()

    def wait_rows(timeout_ms: int = 10_000) -> bool:
        loop = QEventLoop()
        got: list[bool] = []

        def done() -> None:
            got.append(True)
            loop.quit()

        timer = QTimer()
        timer.setSingleShot(True)
        timer.timeout.connect(loop.quit)
        view.model.rowsLoaded.connect(done)
        timer.start(timeout_ms)
        loop.exec()
        timer.stop()  # a timer left running would later quit a loop that is gone
        view.model.rowsLoaded.disconnect(done)
        return bool(got)

    def idle(until: float) -> None:
        while time.perf_counter() < until:
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)
            time.sleep(0.001)

    wait_rows()  # the first page, shown when the list opens
    times: list[float] = []
    for _kind, text in sequences:
        view.search.clear()
        wait_rows()
        idle(time.perf_counter() + interval_ms / 1000)
        for ch in text:
            t0 = time.perf_counter()
            type_key(view.search, ch)
            if not wait_rows():
                raise SystemExit(f"no rows after typing {view.search.text()!r}")
            times.append((time.perf_counter() - t0) * 1000)
            if view.model.rowCount() == 0:
                raise SystemExit(f"the list is empty for {view.search.text()!r}")
            idle(t0 + interval_ms / 1000)
    ops.wait_idle()
    view.close()
    ops.shutdown()
    app.processEvents()
    return times


def report(title: str, by_kind: dict[str, list[float]]) -> list[float]:
    print(f"{title}:")
    every: list[float] = []
    for kind, values in sorted(by_kind.items()):
        every.extend(values)
        print(
            f"  {kind:<6} n={len(values):>4}  p50={percentile(values, 50):7.3f} ms"
            f"  p95={percentile(values, 95):7.3f} ms  max={max(values):7.3f} ms"
        )
    if len(by_kind) == 1:
        return every
    print(
        f"  {'all':<6} n={len(every):>4}  p50={percentile(every, 50):7.3f} ms"
        f"  p95={percentile(every, 95):7.3f} ms  max={max(every):7.3f} ms"
    )
    return every


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--patients", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--rounds", type=int, default=3, help="passes over the queries")
    ap.add_argument("--no-ui", action="store_true", help="skip the keystroke-to-model part")
    ap.add_argument("--no-count", action="store_true",
                    help="skip the counts (minutes at 1M: a count reads its whole bucket)")
    ap.add_argument("--interval-ms", type=float, default=100, help="typing pace in the UI part")
    ap.add_argument("--under-load", action="store_true", help="with CPU-bound neighbours")
    args = ap.parse_args()
    with neighbours(args.under_load) as busy:
        if busy:
            print(f"under load: {busy} CPU-bound neighbour process(es)")
        run(args)


def run(args: argparse.Namespace) -> None:

    prepare_environment()
    path = ensure_database(args.patients)
    from app.store.db import open_database
    from app.store.services import Store

    db = open_database(path, secret_store(), create=False)
    store = Store.over(db)
    user = store.users.authenticate(ADMIN_USER, ADMIN_PASSWORD)
    assert user is not None and user.is_admin
    viewer = user.viewer()
    # Every pass types other patients' details; the warm-up pass, yet others: the
    # process is warm (as the app is after a while), the pages of each query are not.
    passes = [words(store, random.Random(args.seed + r), args.patients) for r in range(args.rounds)]
    n_queries = sum(len(t) for seq in passes for _, t in seq)
    print(f"{args.patients} patients, {args.rounds} passes, {n_queries} queries as typed")
    counts = not args.no_count
    measure_data_layer(store, viewer, words(store, random.Random(args.seed + 1000), args.patients),
                       counts=counts)
    timings: tuple[Timings, Timings, Timings] = (defaultdict(list), defaultdict(list),
                                                 defaultdict(list))
    for sequences in passes:
        got_all = measure_data_layer(store, viewer, sequences, counts=counts)
        for into, got in zip(timings, got_all, strict=True):
            for k, v in got.items():
                into[k].extend(v)
    every = report("search, first page (data layer)", timings[0])
    cpu = report("search, first page (data layer), CPU time", timings[1])
    if counts:
        report("count (shown beside the list)", timings[2])

    ui_p95 = math.nan
    if args.no_ui or not ui_available():
        print("keystroke to model: skipped" + ("" if args.no_ui else " (no patient list UI yet)"))
    else:
        ui = measure_ui(store, user, passes[0], args.interval_ms)
        report("keystroke to model rows (UI, offscreen)", {"all": ui})
        ui_p95 = percentile(ui, 95)
    db.close()
    peak, current = rss_mb()
    print(f"resident memory: peak {peak:.0f} MiB, now {current:.0f} MiB")
    print(
        f"p50_ms={percentile(every, 50):.3f} p95_ms={percentile(every, 95):.3f} "
        f"cpu_p95_ms={percentile(cpu, 95):.3f} ui_p95_ms={ui_p95:.3f} rss_mb={peak:.0f} "
        f"patients={args.patients}"
    )


if __name__ == "__main__":
    main()
