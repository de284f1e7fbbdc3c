"""Every failure is visible: work that fails without a handler of its own is told to the
user over the main window, in his words, and its details go to the log."""

from __future__ import annotations

import logging

from PySide6.QtWidgets import QMessageBox

from app.store.errors import DiskFullError
from app.store.sync.agent_repo import AgentRepo


def _told(window, qtbot) -> QMessageBox:
    qtbot.waitUntil(lambda: window.findChild(QMessageBox, "opFailed") is not None)
    box = window.findChild(QMessageBox, "opFailed")
    assert box.parent() is window and box.isVisible()
    return box


def _synchronize_now(window) -> None:
    action = next(a for a in window.menuBar().actions() if a.text() == "&Sync")
    sync_now = next(a for a in action.menu().actions() if a.text() == "Synchronize &now")
    sync_now.trigger()  # its write has no failure handler of its own


def test_a_read_only_database_is_told_over_the_window(window, ctx, qtbot, caplog) -> None:
    with ctx.store.db.writer.connect() as conn:  # the one connection the writes use
        conn.exec_driver_sql("PRAGMA query_only = ON")
    with caplog.at_level(logging.ERROR, logger="chairside.ops"):
        _synchronize_now(window)
        box = _told(window, qtbot)
    assert box.text() == DiskFullError.READ_ONLY
    assert "Error" not in box.text() and "sqlite" not in box.text().lower()
    assert any("DiskFullError" in r.getMessage() for r in caplog.records)
    box.accept()


def test_an_unexpected_failure_is_plain_words_and_details_in_the_log(
    window, qtbot, caplog, monkeypatch
) -> None:
    def broken(self, kind: str) -> int:
        raise RuntimeError("OperationalError in record_image: sha256 mismatch (422)")

    monkeypatch.setattr(AgentRepo, "request", broken)
    with caplog.at_level(logging.ERROR, logger="chairside.ops"):
        _synchronize_now(window)
        box = _told(window, qtbot)
    text = box.text()
    assert text.startswith("Something went wrong") and "Chairside's log" in text
    for internal in ("RuntimeError", "OperationalError", "record_image", "sha256", "422"):
        assert internal not in text
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "record_image: sha256 mismatch" in logged and "Traceback" in logged
    box.accept()


def test_a_full_disk_while_saving_a_patient_says_nothing_was_saved(window, ctx, qtbot) -> None:
    from app.store.dto import PatientFilter
    from app.ui.patients.patient_dialog import PatientDialog

    # SQLite refuses any page beyond today's count, as a full disk would; the few free
    # pages inside the file (migrations that drop a table leave some) are first given
    # back, so the long note below needs more than there are.
    raw = ctx.store.db.writer.raw_connection()
    raw.driver_connection.execute("VACUUM")
    raw.close()
    with ctx.store.db.writer.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA freelist_count").scalar() < 3
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
        conn.exec_driver_sql(f"PRAGMA max_page_count = {pages}")
    window.new_action.trigger()
    qtbot.waitUntil(lambda: window.findChild(PatientDialog) is not None)
    dialog = window.findChild(PatientDialog)
    qtbot.keyClicks(dialog.inputs["first_name"], "Ada")
    qtbot.keyClicks(dialog.inputs["last_name"], "Lovelace")
    dialog.inputs["note"].setPlainText("A long history. " * 1000)  # pages more than there are
    dialog.buttons.button(dialog.buttons.StandardButton.Save).click()
    qtbot.waitUntil(lambda: dialog.banner.isVisible())
    assert dialog.banner.text() == (
        "The patient could not be saved. "
        "The disk is full: nothing was saved; free space and try again."
    )
    assert dialog.isVisible()  # what was typed is still there to save again
    assert ctx.store.patients.count(ctx.viewer, PatientFilter()) == 0
    dialog.reject()
