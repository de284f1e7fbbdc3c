"""Small dialogs of the Server window: a new account, what an account sees, a new
upload password. They only collect input; the window sends it (off the UI thread)."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QDateTime, Qt
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListView,
    QVBoxLayout,
    QWidget,
)

from app.store.dto import PatientRow
from app.ui.widgets.date_box import DateTimeBox
from app.ui.widgets.table_model import Column
from sync_agent.server_service import Account


def password_field(name: str) -> QLineEdit:
    field = QLineEdit(objectName=name)
    field.setEchoMode(QLineEdit.EchoMode.Password)
    field.setMaxLength(128)
    return field


def _shared(a: Account) -> str:
    if a.whole_database:
        return "whole database"
    n = len(a.patient_ids)
    return f"{n} patient{'s' if n != 1 else ''}" if n else "nothing"


def _expiry(a: Account) -> str:
    if a.expires_at is None:
        return "—"
    return ("expired " if a.expired else "until ") + a.expires_at[:16].replace("T", " ")


ACCOUNT_COLUMNS: list[Column[Account]] = [
    Column("User name", lambda a: a.name),
    Column("Password", lambda a: "set" if a.has_password else "not set yet"),
    Column("Temporary", _expiry),
    Column("Shared", _shared),
]


def buttons(dialog: QDialog) -> QDialogButtonBox:
    box = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                           | QDialogButtonBox.StandardButton.Cancel)
    box.accepted.connect(dialog.accept)
    box.rejected.connect(dialog.reject)
    return box


def _chosen_expiry(temporary: QCheckBox, until: DateTimeBox) -> dt.datetime | None:
    """When a temporary account ends (UTC); None for a lasting one."""
    if not temporary.isChecked():
        return None
    return until.python_datetime().astimezone(dt.UTC)


class NewAccountDialog(QDialog):
    """Name, an optional password, and an optional expiry (a temporary account)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New server account")
        self.name = QLineEdit(objectName="accountName")
        self.name.setMaxLength(64)
        self.password = password_field("accountPassword")
        self.password.setPlaceholderText("optional: without one, send a setup link")
        self.temporary = QCheckBox("Temporary account, until:", objectName="temporary")
        self.until = DateTimeBox(QDateTime.currentDateTime().addDays(7), objectName="until")
        self.until.setEnabled(False)
        self.temporary.toggled.connect(self.until.setEnabled)
        form = QFormLayout(self)
        form.addRow("User name", self.name)
        form.addRow("Password", self.password)
        form.addRow(self.temporary, self.until)
        form.addRow(buttons(self))

    def expires_at(self) -> dt.datetime | None:
        return _chosen_expiry(self.temporary, self.until)


class ShareDialog(QDialog):
    """The whole database, or specific patients of this computer, for one account."""

    def __init__(self, account: Account, patients: list[PatientRow],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Share with {account.name}")
        self.whole = QCheckBox("The whole database (every patient)", objectName="shareWhole")
        self.whole.setChecked(account.whole_database)
        self.model = QStandardItemModel(self)
        for p in patients:
            item = QStandardItem(p.display_name)
            item.setCheckable(True)
            item.setEditable(False)
            item.setData(p.id, Qt.ItemDataRole.UserRole)
            item.setCheckState(Qt.CheckState.Checked if p.id in account.patient_ids
                               else Qt.CheckState.Unchecked)
            self.model.appendRow(item)
        self.list = QListView(objectName="sharePatients")
        self.list.setModel(self.model)
        self.whole.toggled.connect(lambda on: self.list.setEnabled(not on))
        self.list.setEnabled(not account.whole_database)
        layout = QVBoxLayout(self)
        layout.addWidget(self.whole)
        layout.addWidget(QLabel("Or only these patients:"))
        layout.addWidget(self.list)
        layout.addWidget(buttons(self))

    def set_checked(self, patient_id: str, on: bool = True) -> None:
        for row in range(self.model.rowCount()):
            item = self.model.item(row)
            if item.data(Qt.ItemDataRole.UserRole) == patient_id:
                item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)

    def patient_ids(self) -> list[str]:
        return [
            str(self.model.item(r).data(Qt.ItemDataRole.UserRole))
            for r in range(self.model.rowCount())
            if self.model.item(r).checkState() == Qt.CheckState.Checked
        ]


class UploadPasswordDialog(QDialog):
    """The current upload password (blank: the one kept on this PC) and a new one."""

    def __init__(self, saved: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Change the upload password")
        self.current = password_field("currentUpload")
        if saved:
            self.current.setPlaceholderText("kept on this PC; leave blank to use it")
        self.new = password_field("newUpload")
        self.repeat = password_field("repeatUpload")
        form = QFormLayout(self)
        form.addRow(QLabel("Changing it needs a connection to the server."))
        form.addRow("Current password", self.current)
        form.addRow("New password", self.new)
        form.addRow("Repeat it", self.repeat)
        form.addRow(buttons(self))


class ExpiryDialog(QDialog):
    """Until when a temporary account may sign in, or no end."""

    def __init__(self, account: Account, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Expiry of {account.name}")
        self.temporary = QCheckBox("Temporary, until:", objectName="temporary")
        start = QDateTime.currentDateTime().addDays(7)
        if account.expires_at:
            start = QDateTime.fromString(account.expires_at[:19], Qt.DateFormat.ISODate)
        self.until = DateTimeBox(start, objectName="until")
        self.temporary.setChecked(account.expires_at is not None)
        self.until.setEnabled(account.expires_at is not None)
        self.temporary.toggled.connect(self.until.setEnabled)
        form = QFormLayout(self)
        form.addRow(self.temporary, self.until)
        form.addRow(buttons(self))

    def expires_at(self) -> dt.datetime | None:
        return _chosen_expiry(self.temporary, self.until)
