"""Sync ▸ Server… ▸ Groups and permissions: who holds “Data download — full control”.

A group has permissions and members: the practice's program users and its server
accounts. Each member who may download gets the email address his one-time codes go
to (a code that reaches him proves the address). Saved on the server, which checks the
permission wherever a download is asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.store.dto import UserRow
from app.ui.widgets.save_keys import with_save_keys
from app.ui.widgets.screen_fit import resize_to_fit
from sync_agent.server_service import Account

DATA_DOWNLOAD = "data_download.full_control"
DEFAULT_GROUP = "Data download"


class GroupsDialog(QDialog):
    """Edit one group: its permission and its members with their code addresses."""

    def __init__(self, users: list[UserRow], accounts: list[Account],
                 groups: list[dict[str, Any]], save: Callable[[str, list[str], dict[str, str]],
                                                              None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Groups and permissions")
        resize_to_fit(self, QSize(620, 520))
        self._save = save
        self.groups = {g["name"]: g for g in groups}
        self._shown: str | None = None  # the group whose members the table shows
        self.name = QLineEdit(objectName="groupName")
        self.name.setText(next(iter(self.groups), DEFAULT_GROUP))
        self.name.editingFinished.connect(self._load)
        self.permission = QCheckBox("Data download — full control", objectName="dataDownload")
        self.members: list[str] = [f"user:{u.id}" for u in users] + \
            [f"account:{a.id}" for a in accounts]
        names = [(u.display_name or u.username, "program user") for u in users] + \
            [(a.name, "server account") for a in accounts]
        self.table = QTableWidget(len(self.members), 3, objectName="members")
        self.table.setHorizontalHeaderLabels(["Member", "Kind", "Email for one-time codes"])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        for row, (name, kind) in enumerate(names):
            item = QTableWidgetItem(name)
            item.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.table.setItem(row, 0, item)
            kind_item = QTableWidgetItem(kind)
            kind_item.setFlags(Qt.ItemFlag.ItemIsEnabled)
            self.table.setItem(row, 1, kind_item)
            self.table.setItem(row, 2, QTableWidgetItem(""))
        self.error = QLabel("", objectName="groupError", wordWrap=True)
        self.error.setStyleSheet("color: #a3141e;")
        form = QFormLayout()
        form.addRow("Group:", self.name)
        form.addRow("Permissions:", self.permission)
        buttons = with_save_keys(QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                   | QDialogButtonBox.StandardButton.Cancel))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel("Members (tick) and where their one-time codes go:"))
        layout.addWidget(self.table, 1)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self._load()

    def _cell(self, row: int, column: int) -> QTableWidgetItem:
        item = self.table.item(row, column)
        assert item is not None, "every cell is filled when the table is built"
        return item

    def _load(self) -> None:
        name = self.name.text().strip()
        if name == self._shown:
            return  # the box lost focus without a new name: keep what was ticked
        self._shown = name
        group = self.groups.get(name, {})
        self.permission.setChecked(DATA_DOWNLOAD in group.get("permissions", []))
        inside = set(group.get("members", []))
        emails: dict[str, str] = group.get("emails", {})
        for row, key in enumerate(self.members):
            self._cell(row, 0).setCheckState(
                Qt.CheckState.Checked if key in inside else Qt.CheckState.Unchecked)
            self._cell(row, 2).setText(emails.get(key, ""))

    def check(self, member_row: int, email: str) -> None:
        """Tick a member and set his address (as a user does in the table)."""
        self._cell(member_row, 0).setCheckState(Qt.CheckState.Checked)
        self._cell(member_row, 2).setText(email)

    def accept(self) -> None:
        # An address still being typed in the table counts (Enter or Save while editing).
        self.table.setFocus()
        name = self.name.text().strip()
        if not name:
            self.error.setText("Give the group a name.")
            return
        chosen: dict[str, str] = {}
        for row, key in enumerate(self.members):
            if self._cell(row, 0).checkState() != Qt.CheckState.Checked:
                continue
            email = self._cell(row, 2).text().strip()
            if self.permission.isChecked() and "@" not in email:
                who = self._cell(row, 0).text()
                self.error.setText(f"Enter the email address {who}'s one-time codes go to: "
                                   "a data download is confirmed with a code.")
                return
            chosen[key] = email
        self._save(name, [DATA_DOWNLOAD] if self.permission.isChecked() else [], chosen)
        super().accept()
