"""Finding 8: text from other PCs and the portal is shown as text in every view of the
desktop that shows it: hostile markup (a fake table, a link, an image from a file path)
appears literally, in labels, message boxes and tooltips."""

from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6 import QtGui
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QAbstractItemView, QApplication, QLabel, QMessageBox, QWidget

from app.core.ids import new_id
from app.store.sync.sync_repo import SyncRepo
from app.ui.patients.notes_dialog import NoteReminder, NotesDialog

MARK = "<b>FAKE</b>"
HOSTILE = (f'{MARK}<table bgcolor="red"><tr><td>Enter your password</td></tr></table>'
           '<a href="http://evil.example">link</a><img src="file:///etc/hostname">')
NODE = "00000000000000bb"


def _shown_as_text(rich_or_plain: str) -> str:
    """What Qt shows for a string it may take as rich text (tooltips do)."""
    doc = QTextDocument()
    if QtGui.Qt.mightBeRichText(rich_or_plain):
        doc.setHtml(rich_or_plain)
    else:
        doc.setPlainText(rich_or_plain)
    return doc.toPlainText()


def _check(widget: QWidget) -> int:
    """Every visible label and item tooltip holding the markup shows it as text; returns
    how many places showed it."""
    seen = 0
    for label in widget.findChildren(QLabel):
        if label.isVisible() and MARK in label.text():
            label.ensurePolished()
            assert label.textFormat() == Qt.TextFormat.PlainText, label.objectName()
            seen += 1
    for view in widget.findChildren(QAbstractItemView):
        model = view.model()
        if model is None or not view.isVisible():
            continue
        for r in range(model.rowCount(QModelIndex())):
            for c in range(model.columnCount(QModelIndex())):
                index = model.index(r, c)
                tip = model.data(index, Qt.ItemDataRole.ToolTipRole)
                if isinstance(tip, str) and "FAKE" in tip:
                    assert MARK in _shown_as_text(tip), tip
                    seen += 1
                if MARK in str(model.data(index, Qt.ItemDataRole.DisplayRole) or ""):
                    seen += 1  # item views draw their display text as plain text
    return seen


def _pull_hostile_patient(ctx: Any) -> str:
    pid = new_id()
    today = dt.date.today().isoformat()
    stamp = f"{int(dt.datetime.now(dt.UTC).timestamp() * 1000):013d}-0000-{NODE}"

    def change(seq: int, entity: str, fields: dict[str, Any], eid: str | None = None
               ) -> dict[str, Any]:
        return {"seq": seq, "entity": entity, "entity_id": eid or new_id(),
                "fields": {n: {"value": v, "hlc": stamp, "base": None}
                           for n, v in fields.items()},
                "origin_node": NODE, "mutation_id": new_id()}

    page = [
        change(1, "patient", {"first_name": HOSTILE, "last_name": HOSTILE,
                              "gender": "female", "allergies": HOSTILE,
                              "diseases": HOSTILE}, pid),
        change(2, "visit", {"patient_id": pid, "visit_date": today, "procedure": HOSTILE,
                            "notes": HOSTILE}),
        change(3, "appointment", {"patient_id": pid, "starts_at":
                                  dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
                                  "duration_minutes": 30, "reason": HOSTILE,
                                  "status": "booked"}),
        change(4, "note", {"patient_id": pid, "body": HOSTILE, "author": HOSTILE,
                           "created_at": dt.datetime.now(dt.UTC).replace(microsecond=0)
                           .isoformat()}),
    ]
    SyncRepo(ctx.store.db).apply_remote(page, 4)
    return pid


def test_hostile_markup_from_elsewhere_is_shown_as_text_in_every_view(
        window: Any, qtbot: Any, ctx: Any) -> None:
    pid = _pull_hostile_patient(ctx)
    window._changed({"external"})  # what the agent's pull announces
    # The patient list.
    qtbot.waitUntil(lambda: _check(window) > 0)
    # The patient's page, and the reminder of his unread note that pops up.
    window.open_patient(pid)
    page = window.patient_page
    qtbot.waitUntil(lambda: MARK in page.title.text())
    qtbot.waitUntil(lambda: any(d.isVisible() for d in window.findChildren(NoteReminder)))
    reminder = next(d for d in window.findChildren(NoteReminder) if d.isVisible())
    assert _check(reminder) == 1
    reminder.reject()
    qtbot.waitUntil(lambda: _check(page) >= 2)  # the name, the allergy alert
    showing = {"Basic information", "Clinical information", "Records", "Appointments"}
    for i in range(page.tabs.count()):
        page.tabs.setCurrentIndex(i)
        if page.tabs.tabText(i) in showing:  # and what the tab shows of it
            qtbot.waitUntil(lambda: _check(page) >= 3)
        _check(page)
    # The diary of today.
    window.tabs.setCurrentWidget(window.diary)
    qtbot.waitUntil(lambda: _check(window.diary) > 0)
    # The notes window, tooltips included.
    window.show_notes()
    qtbot.waitUntil(lambda: any(d.isVisible() for d in window.findChildren(NotesDialog)))
    notes = next(d for d in window.findChildren(NotesDialog) if d.isVisible())
    qtbot.waitUntil(lambda: notes.model.rowCount() == 1)
    assert _check(notes) >= 2


def test_a_message_box_with_remote_text_shows_it_as_text(window: Any, qtbot: Any) -> None:
    box = QMessageBox(QMessageBox.Icon.Information, "Database synchronization",
                      f"The server said: {HOSTILE}", parent=window)
    box.show()
    qtbot.waitUntil(box.isVisible)
    assert _check(box) >= 1
    box.close()
    assert QApplication.instance() is not None
