"""Who is working: the first administrator, signing in, and what a member sees."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import Qt

from app.store.dto import PatientFilter
from app.ui.shell.context import AppContext
from app.ui.shell.login_dialog import CreateAdminDialog, LoginDialog
from app.ui.shell.main_window import MainWindow

ROOT = Path(__file__).resolve().parents[3]


def test_first_run_creates_the_administrator(store, qtbot) -> None:
    dialog = CreateAdminDialog(store)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert dialog.focusWidget() is dialog.practice  # typing starts in the first box
    qtbot.keyClicks(dialog.display, "Dr Sara Haddad")
    qtbot.keyClicks(dialog.password, "a long password")
    qtbot.keyClicks(dialog.repeat, "a long password")
    dialog.submit()
    assert dialog.error.text() == "Give the practice's name: it is shown when signing in."
    qtbot.keyClicks(dialog.practice, "Smile Clinic")
    dialog.repeat.clear()
    qtbot.keyClicks(dialog.repeat, "another password")
    dialog.submit()
    assert dialog.error.text() == "The two passwords are not the same."
    dialog.repeat.clear()
    qtbot.keyClicks(dialog.repeat, "a long password")
    dialog.submit()
    assert dialog.result() == dialog.DialogCode.Accepted
    assert dialog.user.is_admin and dialog.user.display_name == "Dr Sara Haddad"
    assert store.users.authenticate("ADMIN", "a long password") is not None
    assert store.settings.get("practice_name") == "Smile Clinic"


def test_sign_in_refuses_a_wrong_password_in_plain_words(store, admin, qtbot) -> None:
    dialog = LoginDialog(store, "Smile Clinic")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert dialog.focusWidget() is dialog.username
    assert dialog.windowTitle() == "Sign in — Smile Clinic"
    qtbot.keyClicks(dialog.username, "admin")
    qtbot.keyClicks(dialog.password, "wrong")
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    assert dialog.error.text() == "The user name or the password is not right."
    assert dialog.password.text() == ""
    qtbot.keyClicks(dialog.password, "correct horse")
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    assert dialog.user is not None and dialog.user.username == "admin"


def test_a_member_sees_only_his_patients_in_the_list(store, admin, qtbot) -> None:
    from app.ui.shell.ops import OpRunner

    member = store.users.create("nadia", "Dr Nadia", "member-password", "member")
    store.patients.create(
        admin.viewer(), {"first_name": "Hers", "last_name": "One", "responsible_user_id": member.id}
    )
    store.patients.create(admin.viewer(), {"first_name": "Not", "last_name": "Hers"})
    ops = OpRunner()
    window = MainWindow(AppContext(store, member, ops))
    qtbot.addWidget(window)
    window.show()
    model = window.patient_list.model
    qtbot.waitUntil(lambda: model.rowCount() == 1)
    assert model.index(0, 0).data() == "Hers One"
    qtbot.waitUntil(lambda: window.patient_list.count.text() == "1 patient")
    assert store.patients.count(member.viewer(), PatientFilter()) == 1
    window.close()
    ops.wait_idle()
    ops.shutdown()


def _run_app(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        CHAIRSIDE_DATA_DIR=str(tmp_path / "d"),
        CHAIRSIDE_CONFIG_DIR=str(tmp_path / "c"),
    )
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_app_starts_and_a_wrong_key_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    db = tmp_path / "clinic.chairside"
    first = _run_app(
        tmp_path,
        "--database",
        str(db),
        "--allow-key-file",
        "--auto-login",
        "admin:long password",
        "--exit-when-shown",
    )
    assert first.returncode == 0, first.stderr
    assert "shown_s=" in first.stdout
    key_files = list((tmp_path / "c" / "keys").glob("*.key"))
    assert len(key_files) == 1
    key_files[0].write_text("ab" * 32)
    second = _run_app(
        tmp_path, "--database", str(db), "--auto-login", "admin:long password", "--exit-when-shown"
    )
    assert second.returncode == 1
    assert "cannot be opened" in second.stderr
    assert "Traceback" not in second.stderr


def test_self_test_passes() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "--self-test"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, QT_QPA_PLATFORM="offscreen"),
    )
    assert result.returncode == 0, result.stderr
    assert "self-test passed" in result.stdout
