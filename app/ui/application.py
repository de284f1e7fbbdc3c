"""Starting the desktop app: choose and open the database off the UI thread, sign in,
show the main window."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QApplication,
    QInputDialog,
    QMessageBox,
    QProgressDialog,
)

from app.platform import paths
from app.store.db import Database, open_database
from app.store.errors import InsecureKeyringError, StoreError
from app.store.services import Store
from app.ui.context import AppContext
from app.ui.login_dialog import CreateAdminDialog, LoginDialog
from app.ui.main_window import MainWindow
from app.ui.ops import OpRunner, ReadOp

STARTED = time.time()


class Launcher:
    """Drives start-up as a chain of callbacks on the UI thread's event loop."""

    def __init__(self, app: QApplication, args: argparse.Namespace) -> None:
        self.app = app
        self.args = args
        self.ops = OpRunner()
        self.window: MainWindow | None = None
        self.exit_code = 0
        self.progress: QProgressDialog | None = None

    def start(self) -> None:
        path = self._choose_database()
        if path is None:
            self.quit(0)
            return
        self._open(path, allow_key_file=self.args.allow_key_file)

    def _choose_database(self) -> Path | None:
        if self.args.database:
            return Path(self.args.database)
        known = paths.list_databases()
        if len(known) <= 1:
            return known[0] if known else paths.default_database()
        names = [p.stem for p in known]
        name, ok = QInputDialog.getItem(
            None, "Chairside", "Open which practice database?", names, 0, False
        )
        return known[names.index(name)] if ok else None

    def _open(self, path: Path, allow_key_file: bool) -> None:
        self.progress = QProgressDialog("Opening the practice database…", "", 0, 0)
        self.progress.setCancelButton(None)
        self.progress.setMinimumDuration(400)
        ReadOp(lambda: open_database(path, allow_key_file=allow_key_file)).success(
            self._opened
        ).failure(lambda exc: self._open_failed(exc, path)).run(self.ops)

    def _open_failed(self, exc: BaseException, path: Path) -> None:
        self._close_progress()
        if isinstance(exc, InsecureKeyringError):
            answer = QMessageBox.question(
                None,
                "No secure keyring",
                f"{exc}\n\nKeep the key in such a file and continue?",
            )
            if answer == QMessageBox.StandardButton.Yes:
                self._open(path, allow_key_file=True)
                return
            self.quit(1)
            return
        message = (
            str(exc)
            if isinstance(exc, StoreError)
            else (f"The practice database could not be opened ({type(exc).__name__}: {exc}).")
        )
        if self.args.self_test or self.args.exit_when_shown:
            print(message, file=sys.stderr)
        else:
            QMessageBox.critical(None, "Chairside", message)
        self.quit(1)

    def _close_progress(self) -> None:
        if self.progress is not None:
            self.progress.close()
            self.progress = None

    def _opened(self, db: Database) -> None:
        self._close_progress()
        store = Store.over(db)
        self.store = store
        user = None
        if self.args.auto_login:
            name, _, password = self.args.auto_login.partition(":")
            user = store.users.authenticate(name, password)
            if user is None and store.users.count() == 0:
                user = store.users.create(name, name, password, "admin")
        elif store.users.count() == 0:
            dialog = CreateAdminDialog(store)
            if dialog.exec():
                user = dialog.user
        else:
            dialog = LoginDialog(store, store.settings.get("practice_name"))
            if dialog.exec():
                user = dialog.user
        if user is None:
            db.close()
            self.quit(0 if not self.args.auto_login else 1)
            return
        start_agent = not (self.args.self_test or self.args.exit_when_shown or self.args.no_agent)
        self.window = MainWindow(AppContext(store, user, self.ops, start_agent))
        self.window.show()
        if self.args.exit_when_shown or self.args.self_test:
            model = self.window.patient_list.model
            model.rowsLoaded.connect(self._shown)
            QTimer.singleShot(30_000, lambda: self.quit(2))

    def _shown(self) -> None:
        started = getattr(self.args, "started", None) or STARTED
        print(f"shown_s={time.time() - started:.3f}", flush=True)
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

    def quit(self, code: int) -> None:
        self.exit_code = code
        QTimer.singleShot(0, self.app.quit)


def run(args: argparse.Namespace) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Chairside")
    app.setOrganizationName("Chairside")
    launcher = Launcher(app, args)  # type: ignore[arg-type]
    QTimer.singleShot(0, launcher.start)
    app.exec()
    launcher.ops.shutdown()
    if launcher.window is not None:
        launcher.store.db.close()
    return launcher.exit_code
