"""Scrolling the patient list end to end: how long the UI thread is held per frame.

    .venv/bin/python bench/scroll.py --patients 100000 [--under-load]

Opens the patient list (offscreen) on the benchmark database, as the admin sees it,
waits for the count, then scrolls as a user does: page steps down from the top, a
scrollbar drag to the middle, page steps there, a drag to the end, page steps back up.
A drag moves the slider once per frame without waiting for rows, as a hand does.

Frame: from the scroll to the end of the viewport's repaint and the event-loop pass
after it (page reads run off the UI thread; a row whose page is not in yet paints
blank); pass: each event-loop pass after it while the rows arrive (painting them).
Fill: from the scroll until every row on screen shows its patient. Also the most rows
the model held at once, and this process's resident memory (the list and the store).

The UI thread's own CPU time in each frame is shown beside the clock's, which a busy
machine stretches while the thread waits for a core.

Last lines: worst_frame_ms=, p95_frame_ms=, worst_frame_cpu_ms=, p95_fill_ms=,
held_rows_max=, rss_mb=
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._data import (  # noqa: E402
    ADMIN_PASSWORD,
    ADMIN_USER,
    ensure_database,
    prepare_environment,
    secret_store,
)
from bench.search import filter_stderr, neighbours, pin_singletons, rss_mb  # noqa: E402

STEPS = 150  # page steps in each run of them
DRAG_MOVES = 60  # slider moves in a drag
FILL_TIMEOUT_S = 30


class Scroller:
    def __init__(self, app: Any, view: Any) -> None:
        self.app, self.view = app, view
        self.table = view.table
        self.bar = self.table.verticalScrollBar()
        # (clock, the UI thread's own CPU time): scroll frames, then the passes after
        # them while rows arrive.
        self.frames: list[tuple[float, float]] = []
        self.passes: list[tuple[float, float]] = []
        self.fills: list[float] = []
        self.held = 0

    def _frame(self, act: Callable[[], None]) -> float:
        started, cpu = time.perf_counter(), time.thread_time()
        act()
        self.table.viewport().repaint()
        self.app.processEvents()
        self.frames.append((time.perf_counter() - started, time.thread_time() - cpu))
        return started

    def _filled(self) -> bool:
        model, viewport = self.table.model(), self.table.viewport()
        top = max(self.table.rowAt(0), 0)
        bottom = self.table.rowAt(viewport.height() - 1)
        bottom = model.rowCount() - 1 if bottom < 0 else bottom
        return all(model.row_at(r) is not None for r in range(top, bottom + 1))

    def _wait_filled(self, since: float) -> None:
        deadline = time.perf_counter() + FILL_TIMEOUT_S
        while not self._filled():
            if time.perf_counter() > deadline:
                raise SystemExit("the rows on screen did not arrive")
            started, cpu = time.perf_counter(), time.thread_time()
            self.app.processEvents()
            self.passes.append((time.perf_counter() - started, time.thread_time() - cpu))
            time.sleep(0.0005)  # a pass with nothing to do: let the readers run
        self.fills.append(time.perf_counter() - since)
        self.held = max(self.held, self.view.model.held_rows())

    def page_steps(self, n: int, up: bool = False) -> None:
        from PySide6.QtWidgets import QAbstractSlider

        action = (QAbstractSlider.SliderAction.SliderPageStepSub if up
                  else QAbstractSlider.SliderAction.SliderPageStepAdd)
        for _ in range(n):
            since = self._frame(lambda: self.bar.triggerAction(action))
            self._wait_filled(since)

    def drag(self, to: int) -> None:
        start = self.bar.value()
        since = 0.0
        for i in range(1, DRAG_MOVES + 1):
            position = start + (to - start) * i // DRAG_MOVES
            since = self._frame(lambda p=position: self.bar.setSliderPosition(p))
        self._wait_filled(since)


def shown_list(store: Any, user: Any) -> tuple[Any, Any]:
    from PySide6.QtWidgets import QApplication

    from app.ui.patients.patient_list_view import PatientListView
    from app.ui.shell.context import AppContext
    from app.ui.shell.ops import OpRunner

    app = QApplication.instance() or QApplication([])
    view = PatientListView(AppContext(store, user, OpRunner()))
    view.resize(1100, 720)
    view.show()
    deadline = time.perf_counter() + 120
    while not (view.model.counted and view.model.rowCount() > 0):
        if time.perf_counter() > deadline:
            raise SystemExit("the patient list was not counted")
        app.processEvents()
        time.sleep(0.001)
    return app, view


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--patients", type=int, default=100_000)
    ap.add_argument("--under-load", action="store_true",
                    help="a CPU-bound neighbour process runs beside the list")
    args = ap.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    prepare_environment()
    path = ensure_database(args.patients)
    filter_stderr("propagateSizeHints")  # the offscreen platform's chatter
    pin_singletons()
    from app.store.db import open_database
    from app.store.services import Store

    db = open_database(path, secret_store(), allow_key_file=True)
    store = Store.over(db)
    user = store.users.authenticate(ADMIN_USER, ADMIN_PASSWORD)
    assert user is not None
    with neighbours(args.under_load):
        app, view = shown_list(store, user)
        scroller = Scroller(app, view)
        cpu = time.process_time()
        scroller.page_steps(STEPS)
        scroller.drag(scroller.bar.maximum() // 2)
        scroller.page_steps(STEPS)
        scroller.drag(scroller.bar.maximum())
        last = view.model.index(view.model.rowCount() - 1, 0).data()
        scroller.page_steps(STEPS // 3, up=True)
        cpu = time.process_time() - cpu
        view.ctx.ops.wait_idle()
        _, current = rss_mb()
    frames, frames_cpu = ([f[i] * 1000 for f in scroller.frames] for i in (0, 1))
    passes, passes_cpu = ([f[i] * 1000 for f in scroller.passes] for i in (0, 1))
    fills = [f * 1000 for f in scroller.fills]
    load = " beside busy neighbours" if args.under_load else ""
    print(f"{view.model.rowCount():,} patients{load}: {len(frames)} scroll frames, "
          f"last row {last!r}, {cpu:.2f} s CPU")
    print(f"frame: median {statistics.median(frames):.1f} ms, p95 {p95(frames):.1f} ms, "
          f"worst {max(frames):.1f} ms (UI thread CPU: p95 {p95(frames_cpu):.1f} ms, "
          f"worst {max(frames_cpu):.1f} ms)")
    print(f"passes while rows arrive: worst {max(passes):.1f} ms "
          f"(UI thread CPU: worst {max(passes_cpu):.1f} ms)")
    print(f"rows filled after: median {statistics.median(fills):.1f} ms, "
          f"p95 {p95(fills):.1f} ms, worst {max(fills):.1f} ms")
    print(f"worst_frame_ms={max(max(frames), max(passes)):.1f}")
    print(f"p95_frame_ms={p95(frames):.1f}")
    print(f"worst_frame_cpu_ms={max(max(frames_cpu), max(passes_cpu)):.1f}")
    print(f"p95_fill_ms={p95(fills):.1f}")
    print(f"held_rows_max={scroller.held}")
    print(f"rss_mb={current:.0f}")
    db.close()


if __name__ == "__main__":
    main()
