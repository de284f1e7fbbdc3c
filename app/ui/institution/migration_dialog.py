"""Practice ▸ Institution ▸ Data migration (administrators), as seed 000 has it:

- "Receive data from another clinic…": this clinic generates a verification code,
  shown once, to give to the administrator of the clinic that sends its data here;
- "Send this clinic's data to another clinic…": the receiving clinic's institution
  code (or name) and its verification code; the move runs on the server, and this
  dialog shows its status (Queued, Running, Succeeded, or Failed with the reason),
  asking again every few seconds while it is under way.

The server does all of it (sync_agent.migration_service); the dialogs ask on a worker.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.ui.institution.server_words import said
from app.ui.shell.context import AppContext
from app.ui.shell.ops import ReadOp
from app.ui.widgets.formatting import server_time
from app.ui.widgets.screen_fit import resize_to_fit
from sync_agent.migration_service import Migrations, MigrationView, VerificationCode

POLL_MS = 2000
WHAT_MOVES = ("Every patient of this clinic moves, with visits, appointments, the ledger, "
              "images, scan tickets and cases. Program users, chairs and working hours stay. "
              "Only between clinics, and not to a clinic in another region.")




def _status(m: MigrationView) -> str:
    if m.status == "succeeded":
        return (f"Succeeded — {m.moved} record{'s' * (m.moved != 1)} and {m.images} "
                f"image{'s' * (m.images != 1)} moved")
    if m.status == "failed":
        return f"Failed: {m.reason}"
    return m.status_words


class ReceiveDialog(QDialog):
    """Generates the code another clinic enters to send its data here."""

    def __init__(self, ctx: AppContext, service: Migrations,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.service = service
        self.setWindowTitle("Receive data from another clinic")
        self.setObjectName("receiveMigration")
        resize_to_fit(self, QSize(520, 300))
        intro = QLabel(
            "Generate a verification code and give it to the administrator of the clinic "
            "that moves its data to this one. The code works once and expires in 24 hours; "
            "it is shown only now. A new code replaces the one before.", wordWrap=True)
        self.code = QLabel(objectName="code")
        font = QFont(self.code.font())
        font.setPointSizeF(font.pointSizeF() * 1.8)
        font.setBold(True)
        self.code.setFont(font)
        self.code.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.code.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message = QLabel(objectName="message", wordWrap=True)
        self.generate = QPushButton("&Generate verification code", objectName="generate")
        self.generate.clicked.connect(self.new_code)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.generate)
        layout.addWidget(self.code)
        layout.addWidget(self.message)
        layout.addStretch()
        layout.addWidget(buttons)

    def new_code(self) -> None:
        self.generate.setEnabled(False)
        self.message.setText("Asking the server…")
        ReadOp(self.service.new_code).success(self._shown).failure(self._failed) \
            .run(self.ctx.ops)

    def _shown(self, code: VerificationCode) -> None:
        self.generate.setEnabled(True)
        self.code.setText(code.code)
        self.message.setText(f"Valid until {server_time(code.expires_at)}. Write it down now: "
                             "it is not shown again.")

    def _failed(self, exc: BaseException) -> None:
        self.generate.setEnabled(True)
        self.message.setText(said(exc))


class SendDialog(QDialog):
    """Moves this clinic's data to another clinic and follows the move."""

    def __init__(self, ctx: AppContext, service: Migrations,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.service = service
        self.rows: list[MigrationView] = []
        self.confirm: QMessageBox | None = None
        self.setWindowTitle("Send this clinic's data to another clinic")
        self.setObjectName("sendMigration")
        resize_to_fit(self, QSize(640, 460))
        intro = QLabel(WHAT_MOVES, wordWrap=True)
        self.receiver = QLineEdit(objectName="receiver", maxLength=120)
        self.receiver.setPlaceholderText("Institution code or name")
        self.code = QLineEdit(objectName="verification", maxLength=40)
        self.code.setPlaceholderText("From the receiving clinic")
        form = QFormLayout()
        form.addRow("&Receiving clinic:", self.receiver)
        form.addRow("&Verification code:", self.code)
        self.start_button = QPushButton("&Start data migration", objectName="start")
        self.start_button.clicked.connect(self.start)
        self.message = QLabel(objectName="message", wordWrap=True)
        self.table = QTableWidget(0, 3, objectName="migrations")
        self.table.setHorizontalHeaderLabels(["Started", "Clinic", "Status"])
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setVisible(False)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.start_button)
        layout.addWidget(self.message)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
        self.poll = QTimer(self, singleShot=True, interval=POLL_MS)
        self.poll.timeout.connect(self.refresh)
        for edit in (self.receiver, self.code):
            edit.textChanged.connect(self._typed)
        self._typed()
        self.refresh()

    def _typed(self) -> None:
        self.start_button.setEnabled(bool(self.receiver.text().strip())
                                     and bool(self.code.text().strip()))

    def _ask(self, work: Callable[[], Any], done: Callable[[Any], None]) -> None:
        ReadOp(work).success(done).failure(self._failed).run(self.ctx.ops)

    def start(self) -> None:
        """Asks first: the move takes every patient off this clinic's PCs."""
        receiver, code = self.receiver.text().strip(), self.code.text().strip()
        if not receiver or not code:
            return
        box = QMessageBox(
            QMessageBox.Icon.Warning, "Send this clinic's data",
            f"Every patient of this clinic, with records, images, scan tickets and cases, "
            f"moves to {receiver}, and this clinic's computers will no longer show them.\n\n"
            "Start the data migration?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
        box.setDefaultButton(QMessageBox.StandardButton.No)
        box.buttonClicked.connect(lambda b: self._confirmed(
            box.standardButton(b) == QMessageBox.StandardButton.Yes, receiver, code))
        self.confirm = box
        box.open()

    def _confirmed(self, yes: bool, receiver: str, code: str) -> None:
        if not yes:
            return
        self.start_button.setEnabled(False)
        self.message.setText("Starting the data migration…")
        self._ask(lambda: self.service.start(receiver, code), self._started)

    def _started(self, m: MigrationView) -> None:
        self.code.clear()
        self.message.setText(f"The data migration to {m.other_name} is queued.")
        self.refresh()

    def refresh(self) -> None:
        self._ask(self.service.listing, self._show)

    def _show(self, rows: list[MigrationView]) -> None:
        self.rows = [m for m in rows if m.direction == "sent"]
        self.table.setRowCount(len(self.rows))
        for row, m in enumerate(self.rows):
            for col, text in enumerate((server_time(m.created_at),
                                        f"{m.other_name} ({m.other_code})", _status(m))):
                self.table.setItem(row, col, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        latest = self.rows[0] if self.rows else None
        if latest is not None and latest.under_way:
            self.message.setText(f"Data migration to {latest.other_name}: "
                                 f"{latest.status_words}…")
            self.poll.start()
        elif latest is not None and self.message.text().startswith(("Data migration to",
                                                                    "The data migration")):
            self.message.setText(f"Data migration to {latest.other_name}: {_status(latest)}")
        elif not self.rows and not self.message.text():
            self.message.setText("No data migration was started from this clinic yet.")
        self._typed()

    def _failed(self, exc: BaseException) -> None:
        self.message.setText(said(exc))
        self._typed()

    def done(self, result: int) -> None:
        self.poll.stop()
        super().done(result)
