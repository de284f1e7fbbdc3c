"""A practice of tens of thousands of patients: the list spans them all, scrolls to the
last one, and holds only the pages around what is shown."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractSlider

from app.store.dto import PatientRow
from app.store.sync.sync_repo import SyncRepo
from app.ui.patients.patient_list_model import PAGE, PatientListModel, Shown, shown
from app.ui.widgets.table_model import RowRole
from tests.unit.store.sync.test_one_write_path import pulled

MANY = 30_000
BATCH = 5_000


def pull_patients(store: Any, n: int) -> None:
    """`n` patients as a first pull stores them; patient i is "Ana P{i:05d}"."""
    from app.core.ids import new_id

    repo, start = SyncRepo(store.db), int(time.time() * 1000)
    for first in range(0, n, BATCH):
        changes = [pulled(new_id(), {"first_name": "Ana", "last_name": f"P{i:05d}",
                                     "gender": "female"}, start + i)
                   for i in range(first, min(n, first + BATCH))]
        repo.apply_remote(changes, first // BATCH + 1, defer_index=True)
    repo.finish_index()


def shown_names(table: Any) -> list[str]:
    """The names in the rows the table shows on screen now."""
    model, viewport = table.model(), table.viewport()
    top = table.rowAt(0)
    bottom = table.rowAt(viewport.height() - 1)
    bottom = model.rowCount() - 1 if bottom < 0 else bottom
    return [model.index(r, 0).data() or "" for r in range(max(top, 0), bottom + 1)]


def test_the_list_scrolls_to_the_last_of_many_patients_holding_a_window(
    window, qtbot, ctx
) -> None:
    pull_patients(ctx.store, MANY)
    lst = window.patient_list
    model, table = lst.model, lst.table
    window.resize(1000, 700)
    lst.reload()
    qtbot.waitUntil(lambda: lst.count.text() == f"{MANY:,} patients", timeout=10_000)
    assert model.rowCount() == MANY  # the scrollbar spans them all, none read yet
    bar = table.verticalScrollBar()
    most = 0
    # Page by page for a while, then the scrollbar dragged to the middle and the end.
    for _ in range(40):
        bar.triggerAction(QAbstractSlider.SliderAction.SliderPageStepAdd)
        qtbot.waitUntil(lambda: all(shown_names(table)))
        most = max(most, model.held_rows())
    middle = bar.maximum() // 2
    bar.setSliderPosition(middle)
    qtbot.waitUntil(lambda: all(shown_names(table)))
    assert "Ana P14" in shown_names(table)[0]  # the middle, not read from the top
    bar.setSliderPosition(bar.maximum())
    qtbot.waitUntil(lambda: shown_names(table)[-1:] == [f"Ana P{MANY - 1:05d}"])
    assert all(shown_names(table))
    most = max(most, model.held_rows())
    assert most <= model.kept_pages * PAGE < MANY // 5
    # The last patient opens like the first.
    table.setFocus()
    qtbot.keyClick(table, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(table, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.patient_page.title.text() == f"Ana P{MANY - 1:05d}")


def rows(first: int, n: int) -> list[Shown]:
    return shown([PatientRow(f"id{i}", i, "Ana", f"P{i:05d}", "female", None, None, None,
                             None, f"ana p{i:05d}") for i in range(first, first + n)])


def test_the_model_asks_once_for_a_missing_page_and_drops_the_oldest(qapp) -> None:
    model = PatientListModel(kept_pages=3)
    wanted: list[int] = []
    model.pageWanted.connect(wanted.append)
    model.load(rows(0, PAGE), has_more=True)
    assert model.rowCount() == PAGE and model.canFetchMore()
    model.set_total(10 * PAGE)
    assert model.rowCount() == 10 * PAGE and not model.canFetchMore()
    far = model.index(7 * PAGE + 3, 0)
    assert far.data() is None and model.data(far, RowRole) is None
    assert wanted == [7]  # asked once, however often the row is painted
    model.put_page(7, rows(7 * PAGE, PAGE))
    assert far.data() == f"Ana P{7 * PAGE + 3:05d}"
    model.put_page(8, rows(8 * PAGE, PAGE))
    model.index(0, 0).data()  # page 0 shown again: page 7 is now the oldest
    model.put_page(9, rows(9 * PAGE, PAGE))
    assert model.held_rows() == 3 * PAGE
    assert model.index(7 * PAGE, 0).data() is None and wanted == [7, 7]
    assert model.index(0, 0).data() == "Ana P00000"


def test_a_short_page_ends_the_list_where_the_patients_end(qapp) -> None:
    """Patients removed between the count and the read: no blank rows are left."""
    model = PatientListModel()
    model.load(rows(0, PAGE), has_more=True)
    model.set_total(3 * PAGE)
    model.put_page(2, rows(2 * PAGE, 10))
    assert model.rowCount() == 2 * PAGE + 10
    assert model.index(2 * PAGE + 9, 0).data() == f"Ana P{2 * PAGE + 9:05d}"
