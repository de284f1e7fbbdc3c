"""Who is working: create the first administrator, or sign in."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app.core.options import OPTIONS
from app.store.dto import UserRow
from app.store.errors import StoreError
from app.store.services import Store


class _Base(QDialog):
    def __init__(self, title: str, intro: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(380)
        self.user: UserRow | None = None
        self.form = QFormLayout()
        self.error = QLabel("", objectName="loginError")
        self.error.setStyleSheet("color: #b00020;")
        self.error.setWordWrap(True)
        self.error.hide()
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.submit)
        buttons.rejected.connect(self.reject)
        intro_label = QLabel(intro)
        intro_label.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(intro_label)
        layout.addLayout(self.form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def fail(self, message: str) -> None:
        self.error.setText(message)
        self.error.show()

    def submit(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


def _password(name: str) -> QLineEdit:
    field = QLineEdit(objectName=name)
    field.setEchoMode(QLineEdit.EchoMode.Password)
    return field


class CreateAdminDialog(_Base):
    """First run: the practice's administrator account."""

    def __init__(self, store: Store, parent: QWidget | None = None) -> None:
        super().__init__(
            "Welcome to Chairside",
            "Create the administrator of this practice database. The administrator sees "
            "every patient and manages the other users.",
            parent,
        )
        self.store = store
        named = store.settings.get("practice_name")
        self.practice = QLineEdit(
            "" if named == OPTIONS["practice_name"].default else named,
            objectName="practiceName",
            placeholderText="e.g. Smile Dental Clinic",
        )
        self.display = QLineEdit(objectName="displayName", placeholderText="e.g. Dr Sara Haddad")
        self.username = QLineEdit("admin", objectName="username")
        self.password = _password("password")
        self.repeat = _password("repeatPassword")
        self.form.addRow("Practice name", self.practice)
        self.form.addRow("Your name", self.display)
        self.form.addRow("User name", self.username)
        self.form.addRow("Password", self.password)
        self.form.addRow("Repeat password", self.repeat)
        # The buttons come first in the focus chain; typing must start in the first box.
        (self.display if self.practice.text() else self.practice).setFocus()

    def submit(self) -> None:
        practice = self.practice.text().strip()
        if not practice:
            self.fail("Give the practice's name: it is shown when signing in.")
            self.practice.setFocus()
            return
        if self.password.text() != self.repeat.text():
            self.fail("The two passwords are not the same.")
            return
        try:
            self.user = self.store.users.create(
                self.username.text(), self.display.text(), self.password.text(), "admin"
            )
        except (StoreError, ValueError) as exc:
            self.fail(str(exc))
            return
        self.store.settings.set("practice_name", practice)
        self.accept()


class LoginDialog(_Base):
    def __init__(self, store: Store, practice: str, parent: QWidget | None = None) -> None:
        super().__init__(f"Sign in — {practice}", f"Who is working on {practice}?", parent)
        self.store = store
        self.username = QLineEdit(objectName="username")
        # The practice's users, those made on the other PCs too (users are synced).
        names = [u.username for u in store.users.list(active_only=True)]
        completer = QCompleter(names, self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.username.setCompleter(completer)
        self.password = _password("password")
        self.form.addRow("User name", self.username)
        self.form.addRow("Password", self.password)
        self.username.setFocus()

    def submit(self) -> None:
        user = self.store.users.authenticate(self.username.text(), self.password.text())
        if user is None:
            self.fail("The user name or the password is not right.")
            self.password.clear()
            return
        self.user = user
        self.accept()
