"""A search typed while a first pull runs finds every pulled patient once it ends."""

from __future__ import annotations

import time

from app.store.sync.sync_repo import SyncRepo
from tests.gui.patients.test_front_desk import type_search
from tests.unit.test_pull_index import LAST, MANY, people


def test_a_search_shown_during_a_first_pull_finds_them_all_when_it_ends(
    window, qtbot, ctx
) -> None:
    lst = window.patient_list
    type_search(window, qtbot, "smith")
    qtbot.waitUntil(lambda: lst.count.text() == "0 patients")
    repo = SyncRepo(ctx.store.db)
    changes = people(MANY, int(time.time() * 1000))
    # The patients are stored, their index waits for the pull's end: the list, shown
    # again after the batch, finds none of them yet.
    with qtbot.waitSignal(window.external.changed, timeout=10_000):
        repo.apply_remote(changes, 1, defer_index=True)
    qtbot.waitUntil(lambda: lst.count.text() == "0 patients")
    smiths = sum(1 for i in range(MANY)
                 if i % len(LAST) in (1, 5) and i % 97 != 5 and i != 7)
    repo.finish_index()
    qtbot.waitUntil(lambda: lst.count.text() == f"{smiths} patients", timeout=10_000)
