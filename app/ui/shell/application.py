"""Starting the desktop app: choose and open the database off the UI thread, sign in,
show the main window; later, from the File menu, sign out, switch user or practice.

The Launcher owns the application's lifetime: Qt's "quit when the last window closes"
is off, because start-up shows and closes message boxes and progress dialogs before any
main window exists (closing the key-file question used to end the app), and signing out
closes the main window without ending it. The app ends when the user quits the main
window or cancels a dialog that leaves nothing to show.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QProgressDialog, QWidget

from app.core import logsafe
from app.platform import paths
from app.store import keys, recovery_code
from app.store.db import Database, open_database
from app.store.dto import UserRow
from app.store.errors import InsecureKeyringError, MissingKeyError, StoreError, WrongKeyError
from app.store.services import Store
from app.ui.shell import recovery_code_dialog
from app.ui.shell.context import AppContext
from app.ui.shell.login_dialog import CreateAdminDialog, LoginDialog
from app.ui.shell.main_window import MainWindow
from app.ui.shell.ops import OpRunner, ReadOp
from app.ui.shell.practice_files import (
    choose_database,
    choose_known_database,
    new_database_path,
    remember_opened,
)

STARTED = time.time()
log = logging.getLogger("chairside")


class Launcher:
    """Drives start-up and session changes as callbacks on the UI thread's event loop."""

    def __init__(self, app: QApplication, args: argparse.Namespace) -> None:
        self.app = app
        self.args = args
        self.ops = OpRunner()
        self.window: MainWindow | None = None
        self.store: Store | None = None
        self.exit_code = 0
        self.progress: QProgressDialog | None = None
        app.setQuitOnLastWindowClosed(False)

    # Start-up ---------------------------------------------------------------------------
    def start(self) -> None:
        path = Path(self.args.database) if self.args.database else self._usual_database()
        if path is None:
            self.quit(0)
            return
        self.open(path, allow_key_file=self.args.allow_key_file)

    def _usual_database(self) -> Path | None:
        known = paths.list_databases()
        if len(known) <= 1:
            return known[0] if known else paths.default_database()
        return choose_known_database(None, known)

    def open(self, path: Path, allow_key_file: bool = False, practice: str = "") -> None:
        """Open (or create) a practice database, then ask who is working on it."""
        self.progress = QProgressDialog("Opening the practice database…", "", 0, 0, self.window)
        self.progress.setCancelButton(None)
        self.progress.setMinimumDuration(400)
        ReadOp(lambda: open_database(path, allow_key_file=allow_key_file)).success(
            lambda db: self._opened(db, practice)
        ).failure(lambda exc: self._open_failed(exc, path, practice)).run(self.ops)

    def _open_failed(self, exc: BaseException, path: Path, practice: str) -> None:
        self._close_progress()
        if isinstance(exc, InsecureKeyringError):
            answer = QMessageBox.question(
                self.window,
                "No secure keyring",
                f"{exc}\n\nKeep the key in such a file and continue?",
            )
            if answer == QMessageBox.StandardButton.Yes:
                self.open(path, allow_key_file=True, practice=practice)
                return
            self._nothing_opened(1)
            return
        if (isinstance(exc, (MissingKeyError, WrongKeyError)) and recovery_code.has_code(path)
                and not (self.args.self_test or self.args.exit_when_shown)):
            self._offer_restore(str(exc), path, practice)
            return
        if isinstance(exc, StoreError):
            message = str(exc)
        else:
            log.error("opening %s failed", path, exc_info=exc)
            message = (
                "The practice database could not be opened. The file may be damaged or "
                "another program may be using it; the details are in Chairside's log."
            )
        if self.args.self_test or self.args.exit_when_shown:
            print(message, file=sys.stderr)
        else:
            QMessageBox.critical(self.window, "Chairside", message)
        self._nothing_opened(1)

    def _offer_restore(self, message: str, path: Path, practice: str) -> None:
        """The first dialog when the database cannot be opened: restoring from the
        recovery code, or closing."""
        box = QMessageBox(QMessageBox.Icon.Critical, "Chairside", message,
                          QMessageBox.StandardButton.Close, self.window)
        restore = box.addButton("Restore from recovery code…",
                                QMessageBox.ButtonRole.AcceptRole)
        box.exec()
        if box.clickedButton() is not restore:
            self._nothing_opened(1)
            return
        recovery_code_dialog.ask_restore(
            self.ops, path, self.window,
            done=lambda: self.open(path, allow_key_file=self.args.allow_key_file,
                                   practice=practice),
            gave_up=lambda: self._nothing_opened(1),
            allow_key_file=self.args.allow_key_file,
        )

    def _nothing_opened(self, code: int) -> None:
        """A database change that did not happen leaves the current session as it was."""
        if self.window is None:
            self.quit(code)

    def _close_progress(self) -> None:
        if self.progress is not None:
            self.progress.close()
            self.progress = None

    def _opened(self, db: Database, practice: str) -> None:
        self._close_progress()
        store = Store.over(db)
        if practice:
            store.settings.set("practice_name", practice)
        new_practice = store.users.count() == 0
        user = self._sign_in(store, self.window)
        if user is None:
            db.close()
            self._nothing_opened(0 if not self.args.auto_login else 1)
            return
        self._show(store, user)
        if new_practice and not (self.args.auto_login or self.args.self_test
                                 or self.args.exit_when_shown):
            # Shown once, to the admin who just made the practice, to print.
            recovery_code_dialog.show_new_code(self.ops, db, self.window,
                                               store.settings.get("practice_name") or "")

    def _sign_in(self, store: Store, parent: QWidget | None) -> UserRow | None:
        if self.args.auto_login:  # bench/startup.py and --self-test: no one at the keyboard
            name, _, password = self.args.auto_login.partition(":")
            user = store.users.authenticate(name, password)
            if user is None and store.users.count() == 0:
                user = store.users.create(name, name, password, "admin")
            return user
        if store.users.count() == 0:
            dialog: CreateAdminDialog | LoginDialog = CreateAdminDialog(store, parent)
        else:
            dialog = LoginDialog(store, store.settings.get("practice_name"), parent)
        return dialog.user if dialog.exec() else None

    def _show(self, store: Store, user: UserRow) -> None:
        self._close_session(keep=store)
        self.store = store
        headless = self.args.self_test or self.args.exit_when_shown
        remember_opened(store.db.path, store.settings.get("practice_name"))
        self.window = MainWindow(AppContext(store, user, self.ops, start_agent=not headless))
        self.window.closed.connect(self._window_closed)
        self.window.session.connect(self._session_request)
        self.window.show()
        if headless:
            model = self.window.patient_list.model
            model.rowsLoaded.connect(self._shown)
            QTimer.singleShot(30_000, lambda: self.quit(2))

    def _close_session(self, keep: Store | None = None) -> None:
        """Close the current main window, and its database unless it is `keep` (the same
        practice for another user)."""
        window, store = self.window, self.store
        self.window = self.store = None
        if window is not None:
            window.closed.disconnect(self._window_closed)
            window.close()
        self.ops.drain()
        if window is not None:
            window.deleteLater()
        if store is not None and store is not keep:
            store.db.close()

    def _window_closed(self) -> None:
        self.quit(0)

    # The File menu ----------------------------------------------------------------------
    def _session_request(self, kind: str) -> None:
        actions: dict[str, Callable[[], None]] = {
            "sign_out": self.sign_out,
            "switch_user": self.switch_user,
            "open_database": self.open_database,
            "new_database": self.new_database,
            "switch_database": self.switch_database,
        }
        actions[kind]()

    def sign_out(self) -> None:
        store = self.store
        if store is None:
            return
        if self.window is not None:
            self.window.hide()  # hiding, unlike closing, does not end the app
        dialog = LoginDialog(store, store.settings.get("practice_name"))
        if dialog.exec() and dialog.user is not None:
            self._show(store, dialog.user)
        else:
            self.quit(0)

    def switch_user(self) -> None:
        store = self.store
        if store is None:
            return
        dialog = LoginDialog(store, store.settings.get("practice_name"), self.window)
        if dialog.exec() and dialog.user is not None:
            self._show(store, dialog.user)

    def open_database(self) -> None:
        path = choose_database(self.window)
        if path is not None:
            self.open(path)

    def new_database(self) -> None:
        chosen = new_database_path(self.window)
        if chosen is not None:
            path, practice = chosen
            # Whoever agreed to key files on this PC is not asked again for each practice.
            current = self.store.db.path if self.store is not None else None
            key_file = current is not None and keys.key_file_path(current).exists()
            self.open(path, allow_key_file=key_file, practice=practice)

    def switch_database(self) -> None:
        current = self.store.db.path if self.store is not None else None
        known = [p for p in paths.list_databases() if p != current]
        if not known:
            QMessageBox.information(
                self.window,
                "Switch practice",
                "There is no other practice database on this computer. Use File ▸ New "
                "practice database… or Open practice database… to add one.",
            )
            return
        path = choose_known_database(self.window, known)
        if path is not None:
            self.open(path)

    # Leaving ----------------------------------------------------------------------------
    def _shown(self) -> None:
        started = getattr(self.args, "started", None) or STARTED
        print(f"shown_s={time.time() - started:.3f}", flush=True)
        print(_memory_line(), flush=True)
        if self.args.self_test:
            from app.imaging.dicom import missing_decoders

            missing = missing_decoders()
            if missing:
                print("no decoder for: " + ", ".join(missing), file=sys.stderr)
                self.quit(3)
                return
        if self.window is not None:
            self.window.close()
        self.quit(0)

    def finish(self) -> None:
        """After the event loop: work still running ends, and its results are dropped
        (nobody waits for them; a callback must not open a dialog after the app ended)."""
        window, store = self.window, self.store
        self.window = self.store = None
        if window is not None:
            window.closed.disconnect(self._window_closed)
            window.close()
        self.ops.shutdown()
        QCoreApplication.removePostedEvents(self.ops)
        if store is not None:
            store.db.close()

    def quit(self, code: int) -> None:
        self.exit_code = code
        QTimer.singleShot(0, self.app.quit)


def _memory_line() -> str:
    """The app's resident memory now and at its peak, in MB, for bench/startup.py
    (read where Linux tells it; elsewhere the line says it is not known)."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return "rss_mb=unknown"
    kib = {k: v.split()[0] for k, _, v in (line.partition(":") for line in status.splitlines())
           if k in ("VmRSS", "VmHWM")}
    if len(kib) < 2:
        return "rss_mb=unknown"
    return f"rss_mb={int(kib['VmRSS']) / 1024:.0f} peak_rss_mb={int(kib['VmHWM']) / 1024:.0f}"


def _log_to_file() -> None:
    """Errors the user was told about in plain words keep their details here."""
    folder = paths.data_dir() / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    for old in [h for h in log.handlers if isinstance(h, logging.FileHandler)]:
        log.removeHandler(old)
        old.close()
    handler = logging.FileHandler(folder / "chairside.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log.addHandler(logsafe.protect(handler))
    log.setLevel(logging.INFO)


def run(args: argparse.Namespace) -> int:
    running = QApplication.instance()  # the tests' own, or none
    app = running if isinstance(running, QApplication) else QApplication(sys.argv[:1])
    app.setApplicationName("Chairside")
    app.setOrganizationName("Chairside")
    _log_to_file()
    launcher = Launcher(app, args)
    QTimer.singleShot(0, launcher.start)
    try:
        app.exec()
    finally:
        launcher.finish()
        app.setQuitOnLastWindowClosed(True)
    return launcher.exit_code
