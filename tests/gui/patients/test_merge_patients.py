"""Merge patient data as the front desk does it: find the duplicates from the kept
patient's page, pick, remove, clear, pick again, confirm twice; then undo the merge."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from app.store.dto import PatientFilter
from app.store.patients.merge_repo import MergeRow
from app.ui.patients.merge_dialog import undo_merge
from app.ui.shell.ops import WriteOp


def _duplicates(ctx):
    v = ctx.viewer
    make = ctx.store.patients.create
    kept = make(v, {"first_name": "Maria", "last_name": "Silva", "birth_date": "1980-04-02",
                    "mobile": "+351 912 345 678"})
    twin = make(v, {"first_name": "María", "last_name": "SILVA", "birth_date": "1980-04-02",
                    "allergies": "Penicillin"})
    phone = make(v, {"first_name": "M.", "last_name": "Costa", "mobile": "+351912345678"})
    make(v, {"first_name": "Pedro", "last_name": "Nunes"})
    for p, day in ((twin, 3), (twin, 4), (phone, 5)):
        ctx.store.records.add_visit(v, p.id, {"visit_date": f"2026-10-0{day}",
                                              "procedure": "Scale"})
    agreement = ctx.store.records.add_agreement(
        v, twin.id, {"title": "Crown", "total": Decimal(500)}
    )
    ctx.store.records.add_payment(v, agreement, "2026-10-03", Decimal(100))
    ctx.store.records.add_appointment(v, phone.id, dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC),
                                      30)
    return kept, twin, phone


def _names(dialog) -> list[str]:
    return [dialog.model.index(r, 0).data() for r in range(dialog.model.rowCount())]


def _selected(dialog) -> list[str]:
    return [dialog.selected.item(i).text() for i in range(dialog.selected.count())]


def _pick_row(dialog, qtbot, row: int) -> None:
    dialog.table.selectRow(row)
    qtbot.mouseClick(dialog.add, Qt.MouseButton.LeftButton)


def test_find_pick_confirm_twice_then_undo(window, ctx, qtbot) -> None:
    kept, twin, phone = _duplicates(ctx)
    window.open_patient(kept.id)
    page = window.patient_page
    qtbot.waitUntil(lambda: page.title.text() == "Maria Silva")
    assert page.undo_merge.isHidden()
    qtbot.mouseClick(page.find_duplicates, Qt.MouseButton.LeftButton)
    dialog = page.merge_dialog
    qtbot.waitUntil(lambda: dialog.isVisible() and dialog.model.rowCount() == 2)
    # The strongest match first, with the reason.
    assert _names(dialog) == ["María SILVA", "M. Costa"]
    assert dialog.model.index(0, 5).data() == "same first name, last name and date of birth"
    assert not dialog.confirm.isEnabled()

    _pick_row(dialog, qtbot, 0)
    _pick_row(dialog, qtbot, 1)
    _pick_row(dialog, qtbot, 1)  # picked once only
    assert _selected(dialog) == ["María SILVA  (1980-04-02)", "M. Costa"]
    dialog.selected.setCurrentRow(0)
    qtbot.mouseClick(dialog.remove, Qt.MouseButton.LeftButton)
    assert _selected(dialog) == ["M. Costa"]
    qtbot.mouseClick(dialog.clear, Qt.MouseButton.LeftButton)
    assert _selected(dialog) == [] and not dialog.confirm.isEnabled()

    # A search by name finds anybody; emptied, the similar patients come back.
    qtbot.keyClicks(dialog.search, "pedro")
    qtbot.waitUntil(lambda: _names(dialog) == ["Pedro Nunes"])
    assert dialog.model.index(0, 5).data() == "found by the search"
    dialog.search.clear()
    qtbot.waitUntil(lambda: _names(dialog) == ["María SILVA", "M. Costa"])
    _pick_row(dialog, qtbot, 0)
    _pick_row(dialog, qtbot, 1)

    qtbot.mouseClick(dialog.confirm, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.question is not None and dialog.question.isVisible())
    box = dialog.question
    assert box.text() == "Merge 2 patients (María SILVA, M. Costa) into Maria Silva?"
    assert box.informativeText().startswith(
        "3 records, 1 appointment, 1 payment and 1 agreement will move to Maria Silva.")
    # The allergy only the merged profile has is named before the merge.
    assert "María SILVA — Allergies: Penicillin" in box.informativeText()
    go = next(b for b in box.buttons() if b.text() == "Confirm")
    qtbot.mouseClick(go, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=10000)

    # The moved rows are on the kept patient's page; the merged profiles left the list.
    qtbot.waitUntil(lambda: page.visits.rowCount() == 3)
    qtbot.waitUntil(lambda: page.appointments.rowCount() == 1
                    and page.agreements.rowCount() == 1)
    assert [page.agreements.index(0, 0).data()] == ["Crown"]
    qtbot.waitUntil(page.undo_merge.isVisible)
    found = ctx.store.patients.search(ctx.viewer, PatientFilter(query="silva"))
    assert [r.id for r in found] == [kept.id]

    # Undo: everything goes back.
    qtbot.mouseClick(page.undo_merge, Qt.MouseButton.LeftButton)
    undo: QMessageBox = page.merge_question
    qtbot.waitUntil(undo.isVisible)
    assert undo.text() == "Undo the merge of María SILVA, M. Costa into Maria Silva?"
    back = next(b for b in undo.buttons() if b.text() == "Undo merge")
    qtbot.mouseClick(back, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.visits.rowCount() == 0 and page.appointments.rowCount() == 0
                    and page.agreements.rowCount() == 0)
    qtbot.waitUntil(page.undo_merge.isHidden)
    assert len(ctx.store.records.visits(ctx.viewer, twin.id)) == 2
    assert len(ctx.store.records.appointments(ctx.viewer, phone.id)) == 1


def test_a_merged_profile_open_on_screen_says_so(window, ctx, qtbot) -> None:
    kept, twin, _ = _duplicates(ctx)
    window.open_patient(twin.id)
    page = window.patient_page
    qtbot.waitUntil(lambda: page.title.text() == "María SILVA")
    # Merged meanwhile (here through the writer, as a pulled change is announced).
    WriteOp(lambda: ctx.store.merges.merge(ctx.viewer, kept.id, [twin.id]),
            {"patients"}).run(ctx.ops)
    qtbot.waitUntil(lambda: page.title.text() == "María SILVA  (merged into another patient)")
    assert page.find_duplicates.isHidden()


def test_undo_merge_counts_what_moved_in_words(ctx, qtbot) -> None:
    parent = QWidget()
    qtbot.addWidget(parent)
    row = MergeRow("m1", "k1", ("Ana Lee",), "2026-11-30T10:00:00+00:00", 1, "2026-12-30")
    box = undo_merge(ctx, parent, "Ann Lee", [row])
    assert box is not None
    assert "; 1 item moved. Every record" in box.informativeText()
    box.reject()


def test_enter_adds_the_found_patient_and_never_confirms(window, ctx, qtbot) -> None:
    kept, _twin, _phone = _duplicates(ctx)
    window.open_patient(kept.id)
    page = window.patient_page
    qtbot.waitUntil(lambda: page.title.text() == "Maria Silva")
    qtbot.mouseClick(page.find_duplicates, Qt.MouseButton.LeftButton)
    dialog = page.merge_dialog
    qtbot.waitUntil(lambda: dialog.isVisible() and dialog.model.rowCount() == 2)
    # Typed and Enter at once, before the search has run: the one found is added.
    qtbot.keyClicks(dialog.search, "pedro")
    qtbot.keyClick(dialog.search, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: _selected(dialog) == ["Pedro Nunes"])
    assert dialog.isVisible()
    assert dialog.findChild(QMessageBox, "mergeSecondConfirm") is None  # nothing confirmed
    # Down to the rows, another row, Enter: added too.
    dialog.search.clear()
    qtbot.waitUntil(lambda: _names(dialog) == ["María SILVA", "M. Costa"])
    qtbot.keyClick(dialog.search, Qt.Key.Key_Down)
    dialog.table.selectRow(1)
    qtbot.keyClick(dialog.table, Qt.Key.Key_Return)
    assert _selected(dialog) == ["Pedro Nunes", "M. Costa"]
    assert dialog.isVisible()
    assert dialog.findChild(QMessageBox, "mergeSecondConfirm") is None
    assert dialog.status.text() == ""  # not even counting what would move
    dialog.reject()
