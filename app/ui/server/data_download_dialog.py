"""Tools ▸ Data download: the signed-in user schedules a download of the practice's
data for tomorrow or later (confirmed with a one-time code), and saves a ready one.

The server does the work (sync_agent.download_service); this window only asks, on a
worker, and shows the answers. The user's password is typed for each step that needs
it and is cleared from its box as soon as it was sent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDate, QSize, Qt
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.platform.secrets import SecretStore
from app.ui.shell.context import AppContext
from app.ui.shell.ops import ReadOp, user_message
from app.ui.widgets import plain_text
from app.ui.widgets.save_keys import with_save_keys
from app.ui.widgets.screen_fit import resize_to_fit
from sync_agent.download_service import DataDownloads, DownloadRefused, DownloadStatus

STATUS = {"scheduled": "Scheduled", "running": "Being made", "ready": "Ready",
          "failed": "Failed", "expired": "Expired and deleted"}
ABOUT = ("A copy of the practice's data to keep: treatments, appointments and patient "
         "history (patients with their clinical information, agreements, payments and "
         "notes) as CSV files that spreadsheet programs open. Images are not included.\n"
         "The ZIP file is encrypted with AES-256 and locked with your own Chairside "
         "password (upper and lower case count); 7-Zip or WinZip open it. It is made "
         "overnight on the day you choose, kept for 7 days, and only you can retrieve it.")


def _said(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, DownloadRefused) else user_message(exc)


def _size(size: int) -> str:
    return f"{size / 1048576:.1f} MB" if size >= 1048576 else f"{max(1, size // 1024)} KB"


def _local(moment: str | None) -> str:
    """A moment the server gave in UTC, on this computer's clock."""
    if not moment:
        return ""
    try:
        at = dt.datetime.fromisoformat(moment)
    except ValueError:
        return ""
    return (at if at.tzinfo else at.replace(tzinfo=dt.UTC)).astimezone().strftime(
        "%Y-%m-%d %H:%M")


class CodeDialog(QDialog):
    """The two-factor pop-up: the six-digit code that was just sent."""

    def __init__(self, sent_to: str, parent: QWidget | None = None, error: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle("Two-factor authentication")
        self.setMinimumWidth(440)
        self.code = QLineEdit(objectName="code")
        self.code.setMaxLength(6)
        self.code.setValidator(QRegularExpressionValidator(r"\d{0,6}", self.code))
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"A six-digit code was sent to {sent_to}. Enter it to "
                                "schedule the download.", wordWrap=True))
        layout.addWidget(self.code)
        self.error = QLabel(error, objectName="codeError", wordWrap=True)
        self.error.setStyleSheet("color: #a3141e;")
        self.error.setVisible(bool(error))
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.continue_button = buttons.addButton("Continue",
                                                 QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        # A short code would only spend one of the five tries the server allows.
        self.continue_button.setEnabled(False)
        self.code.textChanged.connect(
            lambda text: self.continue_button.setEnabled(len(text) == 6))


class SaveDialog(QDialog):
    """Sign in again (the password) and choose where the ZIP goes."""

    def __init__(self, suggested: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Save the data download")
        self.setMinimumWidth(520)
        self.password = QLineEdit(objectName="savePassword")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.path = QLineEdit(str(suggested), objectName="savePath")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        where = QHBoxLayout()
        where.addWidget(self.path, 1)
        where.addWidget(browse)
        form = QFormLayout(self)
        form.addRow(QLabel("Only you can retrieve it: sign in again with your password. "
                           "The same password opens the ZIP.", wordWrap=True))
        form.addRow("Your password:", self.password)
        form.addRow("Save as:", where)
        buttons = with_save_keys(QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                   | QDialogButtonBox.StandardButton.Cancel))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _browse(self) -> None:
        chosen, _ = QFileDialog.getSaveFileName(self, "Save the data download",
                                                self.path.text(), "ZIP files (*.zip)")
        if chosen:
            self.path.setText(chosen)


class DataDownloadDialog(QDialog):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None,
                 secrets: SecretStore | None = None) -> None:
        super().__init__(parent)
        plain_text.install()  # the server's messages are never markup
        self.ctx = ctx
        self.service = DataDownloads(ctx.store.db, secrets or SecretStore(), ctx.viewer.user_id)
        self.status: DownloadStatus | None = None
        self.dialog: QDialog | None = None
        self.setWindowTitle("Data download")
        self.setObjectName("dataDownload")
        resize_to_fit(self, QSize(620, 560))

        self.message = QLabel("Asking the server…", objectName="message", wordWrap=True)
        self.about = QLabel(ABOUT, objectName="about", wordWrap=True)
        self.day = QDateEdit(objectName="day", calendarPopup=True)
        self.day.setDisplayFormat("yyyy-MM-dd")
        self.password = QLineEdit(objectName="password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.schedule_button = QPushButton("Schedule download", objectName="schedule")
        self.schedule_button.clicked.connect(self.schedule)
        self.schedule_box = QGroupBox("Schedule")
        form = QFormLayout(self.schedule_box)
        form.addRow("Ready on:", self.day)
        form.addRow("Your password (it locks the ZIP):", self.password)
        form.addRow(self.schedule_button)

        self.table = QTableWidget(0, 4, objectName="downloads")
        self.table.setHorizontalHeaderLabels(["Day", "Status", "Size", "Kept until"])
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().setVisible(False)  # row numbers mean nothing here
        self.save_button = QPushButton("Save to this computer…", objectName="save")
        self.save_button.clicked.connect(self.save)
        self.list_box = QGroupBox("Your downloads")
        box = QVBoxLayout(self.list_box)
        box.addWidget(self.table)
        box.addWidget(self.save_button, 0, Qt.AlignmentFlag.AlignRight)

        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.message)
        layout.addWidget(self.about)
        layout.addWidget(self.schedule_box)
        layout.addWidget(self.list_box, 1)
        layout.addStretch()
        layout.addWidget(close)
        self._enable(False)
        self.refresh()

    def _enable(self, allowed: bool) -> None:
        for w in (self.about, self.schedule_box, self.list_box):
            w.setVisible(allowed)

    def _run(self, work: Callable[[], Any], done: Callable[[Any], None],
             busy: str) -> None:
        self.message.setText(busy)
        ReadOp(work).success(done).failure(lambda exc: self.message.setText(_said(exc))) \
            .run(self.ctx.ops)

    def refresh(self, note: str = "") -> None:
        self._run(self.service.status, lambda s: self._show(s, note), "Asking the server…")

    def _show(self, status: DownloadStatus, note: str = "") -> None:
        self.status = status
        self._enable(status.allowed)
        if not status.allowed:
            mine = ("\nYou are an administrator: give it to yourself there."
                    if self.ctx.viewer.is_admin else "")
            self.message.setText(status.missing + mine)
            return
        self.message.setText(note)
        first = QDate(status.first_day.year, status.first_day.month, status.first_day.day)
        last = QDate(status.last_day.year, status.last_day.month, status.last_day.day)
        if self.day.date() < first or self.day.minimumDate() != first:
            self.day.setDateRange(first, last)
            self.day.setDate(first)
        self.table.setRowCount(len(status.downloads))
        for i, d in enumerate(status.downloads):
            for col, text in enumerate((d.run_on.isoformat(), STATUS.get(d.status, d.status),
                                        _size(d.size) if d.size else "",
                                        _local(d.expires_at))):
                self.table.setItem(i, col, QTableWidgetItem(text))
        ready = [i for i, d in enumerate(status.downloads) if d.status == "ready"]
        self.save_button.setEnabled(bool(ready))
        if ready and self.table.currentRow() not in ready:
            self.table.selectRow(ready[0])

    def schedule(self) -> None:
        password = self.password.text()
        if not password:
            self.message.setText("Type your password: the download is locked with it.")
            return
        q = self.day.date()
        day = dt.date(q.year(), q.month(), q.day())
        self.password.clear()
        self._run(lambda: self.service.request_code(password, day), self._ask_code,
                  "Sending the one-time code…")

    def _ask_code(self, sent: tuple[str, str], error: str = "") -> None:
        code_id, where = sent
        dialog = CodeDialog(where, self, error)
        self.dialog = dialog

        def entered() -> None:
            code = dialog.code.text()

            def refused(exc: BaseException) -> None:
                said = _said(exc)
                self.message.setText(said)
                if said.startswith("The code is not right"):
                    self._ask_code(sent, said)  # another try in the pop-up

            self.message.setText("Checking the code…")
            ReadOp(lambda: self.service.confirm(code_id, code)).success(
                lambda _r: self.refresh("Your data download is scheduled. Come back after "
                                        "the night of the chosen day to save it.")
            ).failure(refused).run(self.ctx.ops)

        dialog.accepted.connect(entered)
        dialog.rejected.connect(lambda: self.message.setText(
            "Not scheduled: the one-time code was not entered. Schedule again to get a "
            "new one."))
        dialog.open()

    def save(self) -> None:
        if self.status is None:
            return
        row = self.table.currentRow()
        downloads = self.status.downloads
        if not 0 <= row < len(downloads) or downloads[row].status != "ready":
            self.message.setText("Choose a download that is ready.")
            return
        chosen = downloads[row]
        folder = Path.home() / "Downloads"
        suggested = (folder if folder.is_dir() else Path.home()) / \
            f"chairside-data-{chosen.run_on.isoformat()}.zip"
        dialog = SaveDialog(suggested, self)
        self.dialog = dialog

        def go() -> None:
            password, dest = dialog.password.text(), Path(dialog.path.text()).expanduser()
            self._run(lambda: self.service.save(chosen.id, password, dest),
                      lambda size: self.message.setText(
                          f"Saved to {dest} ({_size(size)}). Open it with 7-Zip "
                          "or WinZip and your password."), "Saving the data download…")

        dialog.accepted.connect(go)
        dialog.open()
