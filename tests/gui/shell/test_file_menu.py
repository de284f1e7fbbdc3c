"""The File menu, used from the app started as users start it (`main.main`): sign out,
switch user, new / switch / open practice database."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QDialogButtonBox,
    QFileDialog,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
)

import main
from app.platform import paths
from app.ui.shell.login_dialog import CreateAdminDialog, LoginDialog
from tests.gui.shell.test_start_up import PASSWORD, _ok, _quit, _type
from tests.support.modal_driver import (
    ModalDriver,
    keep_the_recovery_code,
    main_window,
    message_box,
    modal,
)


def _menu(kind: str) -> bool:
    """Choose a File menu entry once the main window is up and nothing modal is open."""
    window = main_window()
    if window is None or modal(QInputDialog) or modal(LoginDialog) or modal(QFileDialog):
        return False
    window.findChild(QAction, kind).trigger()
    return True


def _signed_in(window: object) -> str:
    return window.findChild(QLabel, "signedIn").text()  # type: ignore[attr-defined]


def _sign_in(seen: list[str], username: str, password: str, cancel: bool = False):
    def sign_in() -> bool:
        dialog = modal(LoginDialog)
        if dialog is None:
            return False
        seen.append(f"sign in: {dialog.windowTitle()}")
        if cancel:
            buttons = dialog.findChild(QDialogButtonBox)
            buttons.button(QDialogButtonBox.StandardButton.Cancel).click()
            return True
        _type(dialog.username, username)
        _type(dialog.password, password)
        _ok(dialog)
        return True

    return sign_in


def _window_shows(seen: list[str], expect_user: str):
    def window_shows() -> bool:
        window = main_window()
        if window is None or modal(LoginDialog) or expect_user not in _signed_in(window):
            return False
        seen.append(f"window: {window.windowTitle()} / {_signed_in(window)}")
        return True

    return window_shows


def _choose(seen: list[str], kind: type, value: str):
    def choose() -> bool:
        dialog = modal(kind)
        if dialog is None:
            return False
        if isinstance(dialog, QFileDialog):
            # Qt's own file dialog lists the folder in the background and selects the
            # file once it is listed: try again until it shows as selected.
            # Typed into the dialog's name box, as a user would; Qt's own selection of a
            # file it has not listed yet can stay empty on a busy machine.
            dialog.setDirectory(str(Path(value).parent))
            name_box = dialog.findChild(QLineEdit, "fileNameEdit")
            name_box.setText(Path(value).name)
            if [Path(f) for f in dialog.selectedFiles()] != [Path(value)]:
                return False
            seen.append(f"asked: {dialog.windowTitle()}")
            seen.append(f"file: {Path(value).name}")
            dialog.accept()
            return True
        seen.append(f"asked: {dialog.windowTitle()}")
        if dialog.comboBoxItems():
            seen.append(f"choices: {', '.join(dialog.comboBoxItems())}")
        dialog.setTextValue(value)
        dialog.accept()
        return True

    return choose


def _quit_now() -> bool:
    window = main_window()
    if window is None or modal(LoginDialog):
        return False
    _quit(window)
    return True


def _run(argv: list[str], steps: list) -> None:
    driver = ModalDriver(steps)
    code = main.main(argv)
    driver.stop()
    assert driver.left == [], f"never got to: {driver.left}"
    assert code == 0


def test_sign_out_and_switch_user(store, admin, db_path: Path, qapp) -> None:
    store.users.create("nadia", "Dr Nadia", "member-password", "member")
    store.settings.set("practice_name", "Smile Clinic")
    seen: list[str] = []
    hidden: list[bool] = []

    def old_window_is_gone_while_signing_in() -> bool:
        if modal(LoginDialog) is None:
            return False
        hidden.append(main_window() is None)
        return True

    _run(
        ["--database", str(db_path)],
        [
            _sign_in(seen, "admin", "correct horse"),
            _window_shows(seen, "Dr Admin"),
            lambda: _menu("sign_out"),
            old_window_is_gone_while_signing_in,
            _sign_in(seen, "nadia", "member-password"),
            _window_shows(seen, "Dr Nadia"),
            lambda: _menu("switch_user"),
            _sign_in(seen, "", "", cancel=True),  # changed his mind: still Dr Nadia
            _window_shows(seen, "Dr Nadia"),
            lambda: _menu("switch_user"),
            _sign_in(seen, "admin", "correct horse"),
            _window_shows(seen, "Dr Admin"),
            _quit_now,
        ],
    )
    assert hidden == [True]
    assert seen == [
        "sign in: Sign in — Smile Clinic",
        "window: Chairside — Smile Clinic / Signed in as Dr Admin (admin)",
        "sign in: Sign in — Smile Clinic",
        "window: Chairside — Smile Clinic / Signed in as Dr Nadia (member)",
        "sign in: Sign in — Smile Clinic",
        "window: Chairside — Smile Clinic / Signed in as Dr Nadia (member)",
        "sign in: Sign in — Smile Clinic",
        "window: Chairside — Smile Clinic / Signed in as Dr Admin (admin)",
    ]


def test_new_switch_and_open_practice_databases(qapp) -> None:
    seen: list[str] = []

    def create_admin(expect_practice: str, practice: str = ""):
        def create_the_administrator() -> bool:
            dialog = modal(CreateAdminDialog)
            if dialog is None:
                return False
            seen.append(f"welcome: {dialog.practice.text() or '(empty)'}")
            if practice:
                _type(dialog.practice, practice)
            assert dialog.practice.text() == expect_practice
            _type(dialog.display, "Dr Sara Haddad")
            _type(dialog.password, PASSWORD)
            _type(dialog.repeat, PASSWORD)
            _ok(dialog)
            return True

        return create_the_administrator

    lakeside = paths.databases_dir() / "lakeside-dental.chairside"
    _run(
        [],
        [
            create_admin("Smile Clinic", practice="Smile Clinic"),
            keep_the_recovery_code(),
            _window_shows(seen, "Dr Sara"),
            lambda: _menu("new_database"),
            _choose(seen, QInputDialog, "Lakeside Dental"),
            create_admin("Lakeside Dental"),  # the name given is already filled in
            keep_the_recovery_code(),
            _window_shows(seen, "Dr Sara"),
            lambda: _menu("switch_database"),
            _choose(seen, QInputDialog, "Smile Clinic"),
            _sign_in(seen, "admin", PASSWORD),
            _window_shows(seen, "Dr Sara"),
            lambda: _menu("open_database"),
            _choose(seen, QFileDialog, str(lakeside)),
            _sign_in(seen, "", "", cancel=True),  # not now: Smile Clinic stays open
            _window_shows(seen, "Dr Sara"),
            _quit_now,
        ],
    )
    assert seen == [
        "welcome: (empty)",
        "window: Chairside — Smile Clinic / Signed in as Dr Sara Haddad (admin)",
        "asked: New practice database",
        "welcome: Lakeside Dental",
        "window: Chairside — Lakeside Dental / Signed in as Dr Sara Haddad (admin)",
        "asked: Chairside",
        "choices: Smile Clinic",
        "sign in: Sign in — Smile Clinic",
        "window: Chairside — Smile Clinic / Signed in as Dr Sara Haddad (admin)",
        "asked: Open practice database",
        "file: lakeside-dental.chairside",
        "sign in: Sign in — Lakeside Dental",
        "window: Chairside — Smile Clinic / Signed in as Dr Sara Haddad (admin)",
    ]
    assert sorted(p.name for p in paths.list_databases()) == [
        "lakeside-dental.chairside",
        "practice.chairside",
    ]

    # The next start asks which practice, by name, the one used last first.
    for choose, then in (("Lakeside Dental", "Smile Clinic"), ("Smile Clinic", "Lakeside Dental")):
        seen.clear()
        _run(
            [],
            [
                _choose(seen, QInputDialog, choose),
                _sign_in(seen, "admin", PASSWORD),
                _window_shows(seen, "Dr Sara"),
                _quit_now,
            ],
        )
        assert seen[:3] == [
            "asked: Chairside",
            f"choices: {then}, {choose}",
            f"sign in: Sign in — {choose}",
        ]


def test_without_a_keyring_a_new_practice_does_not_ask_about_key_files_again(
    qapp, fresh_home: Path, no_keyring, agents
) -> None:
    seen: list[str] = []

    def answer_yes() -> bool:
        box = message_box("No secure keyring")
        if box is None:
            return False
        seen.append("key-file question")
        box.button(QMessageBox.StandardButton.Yes).click()
        return True

    def create_admin() -> bool:
        dialog = modal(CreateAdminDialog)
        if dialog is None:
            return False
        seen.append(f"welcome: {dialog.practice.text() or '(empty)'}")
        if not dialog.practice.text():
            _type(dialog.practice, "Smile Clinic")
        _type(dialog.display, "Dr Sara Haddad")
        _type(dialog.password, PASSWORD)
        _type(dialog.repeat, PASSWORD)
        _ok(dialog)
        return True

    _run(
        [],
        [
            answer_yes,
            create_admin,
            keep_the_recovery_code(),
            _window_shows(seen, "Dr Sara"),
            lambda: _menu("new_database"),
            _choose(seen, QInputDialog, "Lakeside Dental"),
            create_admin,
            keep_the_recovery_code(),
            _window_shows(seen, "Dr Sara"),
            _quit_now,
        ],
    )
    assert seen == [
        "key-file question",
        "welcome: (empty)",
        "window: Chairside — Smile Clinic / Signed in as Dr Sara Haddad (admin)",
        "asked: New practice database",
        "welcome: Lakeside Dental",
        "window: Chairside — Lakeside Dental / Signed in as Dr Sara Haddad (admin)",
    ]
    assert len(list((fresh_home / ".config" / "Chairside" / "keys").glob("*.key"))) == 2
