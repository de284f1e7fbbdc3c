"""The app started the way a user starts it: `main.main(argv)` with the README's argv,
on a fresh home folder, through the real dialogs, then started again.

No test-only option is passed: the first start answers the key-file question (when the
computer has no secure keyring), creates the practice's administrator, adds a patient
through the new-patient form and quits; the second start signs in and finds the patient.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDialogButtonBox, QMessageBox

import main
from app.ui.patients.patient_dialog import PatientDialog
from app.ui.shell.login_dialog import CreateAdminDialog, LoginDialog
from tests.support.modal_driver import (
    ModalDriver,
    keep_the_recovery_code,
    main_window,
    message_box,
    modal,
)

PRACTICE = "Smile Clinic"
PASSWORD = "a long password"


def _type(widget: object, text: str) -> None:
    widget.clear()  # type: ignore[attr-defined]
    QTest.keyClicks(widget, text)  # type: ignore[arg-type]


def _ok(dialog: object) -> None:
    buttons = dialog.findChild(QDialogButtonBox)  # type: ignore[attr-defined]
    buttons.button(QDialogButtonBox.StandardButton.Ok).click()


def _quit(window: object) -> None:
    quit_action = next(a for a in window.findChildren(QAction) if a.text() == "&Quit")  # type: ignore[attr-defined]
    quit_action.trigger()


def first_start_steps(seen: dict[str, object], key_question: bool) -> list:
    def answer_yes_to_the_key_file_question() -> bool:
        box = message_box("No secure keyring")
        if box is None:
            return False
        seen["key_question"] = box.text()
        box.button(QMessageBox.StandardButton.Yes).click()
        return True

    def create_the_administrator() -> bool:
        dialog = modal(CreateAdminDialog)
        if dialog is None:
            return False
        _type(dialog.practice, PRACTICE)
        _type(dialog.display, "Dr Sara Haddad")
        _type(dialog.password, PASSWORD)
        _type(dialog.repeat, PASSWORD)
        _ok(dialog)
        return True

    def open_the_new_patient_form() -> bool:
        window = main_window()
        if window is None or modal(PatientDialog) is not None:
            return False
        seen["title"] = window.windowTitle()
        window.new_action.trigger()
        return True

    def fill_in_the_patient() -> bool:
        dialog = modal(PatientDialog)
        if dialog is None:
            return False
        _type(dialog.inputs["first_name"], "Ada")
        _type(dialog.inputs["last_name"], "Lovelace")
        QTest.keyClick(dialog.inputs["last_name"], Qt.Key.Key_Return)
        return True

    def quit_once_the_patient_shows() -> bool:
        window = main_window()
        if window is None or modal(PatientDialog) is not None:
            return False
        if not window.patient_page.isVisible():
            return False
        _quit(window)
        return True

    steps = [
        create_the_administrator,
        keep_the_recovery_code(),
        open_the_new_patient_form,
        fill_in_the_patient,
        quit_once_the_patient_shows,
    ]
    return ([answer_yes_to_the_key_file_question] if key_question else []) + steps


def second_start_steps(seen: dict[str, object]) -> list:
    def sign_in() -> bool:
        dialog = modal(LoginDialog)
        if dialog is None:
            return False
        seen["sign_in_title"] = dialog.windowTitle()
        _type(dialog.username, "admin")
        _type(dialog.password, PASSWORD)
        _ok(dialog)
        return True

    def find_the_patient_and_quit() -> bool:
        window = main_window()
        if window is None:
            return False
        model = window.patient_list.model
        names = [model.index(r, 0).data() for r in range(model.rowCount())]
        if not names:
            return False
        seen["patients"] = names
        _quit(window)
        return True

    return [sign_in, find_the_patient_and_quit]


def _start(argv: list[str], steps: list) -> tuple[int, ModalDriver]:
    driver = ModalDriver(steps)
    code = main.main(argv)
    driver.stop()
    return code, driver


@pytest.mark.parametrize(
    ("keyring_kind", "with_database"),
    [("none", False), ("working", True)],
    ids=["no-keyring-readme-command", "keyring-database-option"],
)
def test_a_new_user_gets_in_and_finds_his_patient_the_next_day(
    qapp, fresh_home: Path, agents, request: pytest.FixtureRequest, keyring_kind: str,
    with_database: bool,
) -> None:
    if keyring_kind == "none":
        request.getfixturevalue("no_keyring")
    database = fresh_home / "Documents" / "clinic.chairside"
    argv = ["--database", str(database)] if with_database else []
    seen: dict[str, object] = {}

    code, driver = _start(argv, first_start_steps(seen, key_question=keyring_kind == "none"))
    assert driver.left == [], f"never got to: {driver.left}"
    assert code == 0
    assert seen["title"] == f"Chairside — {PRACTICE}"
    if keyring_kind == "none":
        assert "no secure keyring" in str(seen["key_question"])
        assert "keyring.backends" not in str(seen["key_question"])
        assert list((fresh_home / ".config" / "Chairside" / "keys").glob("*.key"))
    expected = database if with_database else (
        fresh_home / ".local" / "share" / "Chairside" / "databases" / "practice.chairside"
    )
    assert expected.is_file()

    code, driver = _start(argv, second_start_steps(seen))
    assert driver.left == [], f"never got to: {driver.left}"
    assert code == 0
    assert seen["sign_in_title"] == f"Sign in — {PRACTICE}"
    assert seen["patients"] == ["Ada Lovelace"]


def test_a_database_this_computer_cannot_unlock_is_a_message_then_the_app_ends(
    qapp, db_path: Path, secrets_store
) -> None:
    from app.store import keys

    secrets_store.set(keys._slot(db_path), "00" * 32)  # not the key of this file
    told: list[str] = []

    def read_the_message_and_close_it() -> bool:
        box = message_box("Chairside")
        if box is None:
            return False
        told.append(box.text())
        box.button(QMessageBox.StandardButton.Ok).click()
        return True

    code, driver = _start(["--database", str(db_path)], [read_the_message_and_close_it])
    assert driver.left == []
    assert code == 1
    assert told and told[0].startswith("This practice database cannot be opened")


def test_a_lost_keyring_is_restored_from_the_recovery_code_on_the_first_dialog(
    qapp, store, admin, db_path: Path, secrets_store
) -> None:
    from PySide6.QtWidgets import QInputDialog

    from app.store import keys, recovery_code

    store.settings.set("practice_name", PRACTICE)
    code = recovery_code.create_for(store.db, secrets_store)
    store.db.close()
    keys.forget_key(db_path, secrets_store)  # the keyring is lost
    seen: list[str] = []

    def choose_restore() -> bool:
        box = message_box("Chairside")
        if box is None:
            return False
        seen.append(box.text())
        [restore] = [b for b in box.buttons() if b.text() == "Restore from recovery code…"]
        restore.click()
        return True

    def type_code(text: str):
        def type_the_code() -> bool:
            dialog = modal(QInputDialog)
            if dialog is None:
                return False
            seen.append(dialog.labelText())
            dialog.setTextValue(text)
            dialog.accept()
            return True

        return type_the_code

    def sign_in_then_quit() -> bool:
        dialog = modal(LoginDialog)
        if dialog is None:
            return False
        seen.append(dialog.windowTitle())
        _type(dialog.username, "admin")
        _type(dialog.password, "correct horse")
        _ok(dialog)
        return True

    def quit_when_shown() -> bool:
        window = main_window()
        if window is None:
            return False
        _quit(window)
        return True

    code_returned, driver = _start(
        ["--database", str(db_path)],
        [choose_restore, type_code("ABCDE-FGHJK-MNPQR-STVWX-YZ012"), type_code(code.lower()),
         sign_in_then_quit, quit_when_shown],
    )
    assert driver.left == [], f"never got to: {driver.left}"
    assert code_returned == 0
    assert seen[0].startswith("This practice database is encrypted and its key is not")
    assert seen[1].startswith("Type the recovery code")
    assert "does not open this practice database" in seen[2]  # the wrong code, said so
    assert seen[3] == f"Sign in — {PRACTICE}"
    assert keys.load_key(db_path, secrets_store)  # the key is back in the keyring
