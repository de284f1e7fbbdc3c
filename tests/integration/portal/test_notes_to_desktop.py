"""A note sent in the browser reaches the clinic's PC through the agent, is listed in
the notes window, and pops up when that patient's file is opened."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from app.platform.secrets import SecretStore
from app.store.patients.notes_repo import NotesRepo
from app.ui.patients.notes_dialog import NoteReminder, NotesDialog
from app.ui.shell.context import AppContext
from app.ui.shell.main_window import MainWindow
from app.ui.shell.ops import OpRunner
from sync_agent import connection
from sync_agent.reconcile_job import reconcile
from tests.conftest import _KEYRING
from tests.integration.agent.conftest import PC, clinic, cloud  # noqa: F401 - fixtures
from tests.integration.cloud.conftest import Server
from tests.integration.portal.conftest import PHONE

LOGIN_PW = "login-Password-88"


def ops_running(ops: OpRunner) -> bool:
    return bool(ops._running)
ADMIN_PW = "admin-Password-88"
NOTE = "Patient called: the crown feels high."


def test_a_note_from_the_browser_pops_up_on_the_desktop(
        clinic: Callable[[int], list[PC]], cloud: Server, chromium: Any, qtbot: Any,  # noqa: F811
        shots: Path) -> None:
    (pc,) = clinic(1)
    ann = pc.store.patients.create(pc.admin.viewer(), {"first_name": "Ann", "last_name": "Lee",
                                                       "gender": "female"})
    pc.sync()
    conn = connection.load(pc.store.db, SecretStore(_KEYRING))
    assert conn is not None
    client = conn.client()
    client.set_portal_password("login", LOGIN_PW)
    client.set_portal_password("admin", ADMIN_PW)

    context = chromium.new_context(viewport=PHONE)
    page = context.new_page()
    page.goto(cloud.url + "/doctor/")
    page.fill("#installation_id", conn.installation_id)
    page.fill("#login_password", LOGIN_PW)
    page.fill("#user", "admin")
    page.fill("#password", ADMIN_PW)
    page.click("#go")
    page.wait_for_url("**/doctor/patients")
    page.click(f'a[data-id="{ann.id}"]')
    page.fill("#note-body", NOTE)
    page.click("#note-save")
    page.wait_for_selector("#note-sent")
    context.close()

    pc.sync()  # the agent pulls the note like any change
    notes = NotesRepo(pc.store.db).all(pc.admin.viewer())
    assert [(n.patient_id, n.body, n.author, n.read) for n in notes] == [
        (ann.id, NOTE, "admin", False)]
    # The clinic's copy and the server's agree, the note included.
    report = reconcile(pc.store.db, client)
    assert report.describe() == "The server's copy matches this computer's: nothing to repair."
    assert report.checked["note"] == 1

    ops = OpRunner()
    ctx = AppContext(pc.store, pc.admin, ops)
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.show()
    try:
        window.open_patient(ann.id)
        qtbot.waitUntil(lambda: isinstance(getattr(window, "reminder", None), NoteReminder)
                        and window.reminder.isVisible(), timeout=10_000)
        reminder = window.reminder
        assert reminder.windowTitle() == "Notes on Ann Lee"
        assert any(NOTE in label.text() for label in reminder.findChildren(QLabel))
        reminder.grab().save(str(shots / "desktop-note-reminder.png"))
        qtbot.mouseClick(reminder.read_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not NotesRepo(pc.store.db).unread_for(pc.admin.viewer(),
                                                                       ann.id), timeout=10_000)
        dialog = NotesDialog(ctx, window)
        qtbot.addWidget(dialog)
        qtbot.waitUntil(lambda: dialog.model.rowCount() == 1, timeout=10_000)
        assert dialog.model.rows[0].body == NOTE and dialog.model.rows[0].read
        # Opened again: nothing unread, no reminder.
        window.reminder = None  # type: ignore[assignment]
        window.show_list()
        window.open_patient(ann.id)
        ops.wait_idle()
        qtbot.waitUntil(lambda: not ops_running(ops), timeout=10_000)
        assert window.reminder is None
    finally:
        window.close()
        ops.wait_idle()
        ops.shutdown()
