"""The recovery code, as the admin sees it: shown once when a practice is created (and
when an admin asks for a new one), to print or write down; and typed back in when this
computer can no longer open the practice database (see app.store.recovery_code)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QTextDocument
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.platform.secrets import SecretStore
from app.store import recovery_code
from app.store.db import Database
from app.ui.shell.ops import OpRunner, ReadOp, user_message

EXPLAIN = (
    "Keep this recovery code on paper, away from this computer. If this computer's "
    "keyring is ever lost — a reinstalled system, a new computer with a copy of the "
    "practice's data — the code opens the practice database and its images again. "
    "Without it, what had not reached the server cannot be read."
)


class RecoveryCodeDialog(QDialog):
    def __init__(self, code: str, practice: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("recoveryCodeDialog")
        self.setWindowTitle("Recovery code")
        self.setWindowModality(Qt.WindowModality.ApplicationModal)
        self.code, self.practice = code, practice
        explain = QLabel(EXPLAIN)
        explain.setWordWrap(True)
        self.code_label = QLabel(code, objectName="recoveryCode")
        font = QFont("monospace")
        font.setStyleHint(QFont.StyleHint.Monospace)
        font.setPointSize(font.pointSize() + 6)
        self.code_label.setFont(font)
        self.code_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.code_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        print_button = QPushButton("&Print…", objectName="printRecoveryCode")
        print_button.clicked.connect(self.print_code)
        self.done_button = QPushButton("I have &kept it", objectName="recoveryCodeKept")
        self.done_button.setDefault(True)
        self.done_button.clicked.connect(self.accept)
        buttons = QHBoxLayout()
        buttons.addWidget(print_button)
        buttons.addStretch(1)
        buttons.addWidget(self.done_button)
        layout = QVBoxLayout(self)
        layout.addWidget(explain)
        layout.addWidget(self.code_label)
        layout.addLayout(buttons)

    def document(self) -> QTextDocument:
        """The page that is printed."""
        doc = QTextDocument()
        who = f" of {self.practice}" if self.practice else ""
        doc.setHtml(
            f"<h2>Chairside recovery code{who}</h2><p>{EXPLAIN}</p>"
            f"<p style='font-size:20pt; font-family:monospace'>{self.code}</p>"
        )
        return doc

    def print_code(self) -> None:
        from PySide6.QtPrintSupport import QPrintDialog, QPrinter

        printer = QPrinter()
        if QPrintDialog(printer, self).exec() == QDialog.DialogCode.Accepted:
            self.document().print_(printer)


def show_new_code(ops: OpRunner, db: Database, parent: QWidget | None, practice: str = "",
                  secrets: SecretStore | None = None) -> None:
    """Make a new code (the old one stops working) and show it."""
    store = secrets or SecretStore()

    def shown(code: str) -> None:
        dialog = RecoveryCodeDialog(code, practice, parent)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    ReadOp(lambda: recovery_code.create_for(db, store)).success(shown).run(ops)


def ask_new_code(ops: OpRunner, db: Database, parent: QWidget | None, practice: str = "") -> None:
    """The admin's "New recovery code…": asked first, since the printed one stops working."""
    answer = QMessageBox.question(
        parent, "New recovery code",
        "Make a new recovery code? The code printed before will no longer work.",
    )
    if answer == QMessageBox.StandardButton.Yes:
        show_new_code(ops, db, parent, practice)


def ask_restore(ops: OpRunner, db_path: Path, parent: QWidget | None,
                done: Callable[[], None], gave_up: Callable[[], None],
                allow_key_file: bool = False, problem: str = "") -> None:
    """Ask for the recovery code until it opens the database (`done`) or the user
    cancels (`gave_up`)."""
    label = (f"{problem}\n\n" if problem else "") + (
        "Type the recovery code printed when this practice was created:")
    code, ok = QInputDialog.getText(parent, "Restore from recovery code", label,
                                    QLineEdit.EchoMode.Normal)
    if not ok or not code.strip():
        gave_up()
        return

    def failed(exc: BaseException) -> None:
        ask_restore(ops, db_path, parent, done, gave_up, allow_key_file, user_message(exc))

    ReadOp(lambda: recovery_code.restore(db_path, code, SecretStore(), allow_key_file)
           ).success(lambda _: done()).failure(failed).run(ops)
