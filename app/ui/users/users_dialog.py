"""The practice's program users, managed by an administrator.

Users are practice data: what is done here reaches every PC at its next sync. Nobody
is deleted — records keep their author — a user who leaves is disabled. Users made on
two PCs under one name were merged into one; the admin is told here and can split two
people who happened to pick the same name.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.store.dto import MergedUser, UserRow
from app.store.errors import StoreError
from app.ui.server.server_dialogs import password_field
from app.ui.shell.context import AppContext
from app.ui.shell.ops import ReadOp, WriteOp
from app.ui.widgets.save_keys import with_save_keys
from app.ui.widgets.table_model import Column, RowTableModel, table_view

ROLE_NAMES = {"admin": "Administrator", "member": "Member"}
USER_COLUMNS: list[Column[UserRow]] = [
    Column("Name", lambda u: u.display_name),
    Column("User name", lambda u: u.username),
    Column("Role", lambda u: ROLE_NAMES.get(u.role, u.role)),
    Column("Status", lambda u: "Active" if u.active else "Disabled"),
]
CHANGES = {"users"}


class UserForm(QDialog):
    """Collects one change to a user; the users window saves it and either closes the
    form or shows the reason it was refused here, keeping what was typed."""

    submitted = Signal(dict)

    def __init__(self, title: str, *, username: bool = False, name: str | None = None,
                 role: str | None = None, password: bool = False,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setObjectName("userForm")
        self.setMinimumWidth(380)
        self.fields: dict[str, QLineEdit | QComboBox] = {}
        form = QFormLayout()
        if username:
            self.fields["username"] = QLineEdit(objectName="username")
            form.addRow("User name", self.fields["username"])
        if name is not None:
            self.fields["display_name"] = QLineEdit(name, objectName="displayName")
            form.addRow("Name", self.fields["display_name"])
        if role is not None:
            combo = QComboBox(objectName="role")
            for key, label in ROLE_NAMES.items():
                combo.addItem(label, key)
            combo.setCurrentIndex(max(0, combo.findData(role)))
            self.fields["role"] = combo
            form.addRow("Role", combo)
        if password:
            self.fields["password"] = password_field("password")
            self.fields["repeat"] = password_field("repeatPassword")
            form.addRow("Password", self.fields["password"])
            form.addRow("Password again", self.fields["repeat"])
        self.error = QLabel("", objectName="formError")
        self.error.setStyleSheet("color: #b00020;")
        self.error.setWordWrap(True)
        self.error.hide()
        box = with_save_keys(QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                               | QDialogButtonBox.StandardButton.Cancel))
        box.accepted.connect(self._submit)
        box.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(box)

    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, w in self.fields.items():
            out[key] = w.currentData() if isinstance(w, QComboBox) else w.text()
        return out

    def show_error(self, message: str) -> None:
        self.error.setStyleSheet("color: #b00020;")
        self.error.setText(message)
        self.error.show()

    def _submit(self) -> None:
        values = self.values()
        if "password" in values and values["password"] != values.pop("repeat"):
            self.show_error("The two passwords are not the same.")
            return
        self.submitted.emit(values)


class UsersDialog(QDialog):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:  # noqa: PLR0915
        super().__init__(parent)
        if not ctx.viewer.is_admin:
            raise PermissionError("the users window is for administrators")
        self.ctx = ctx
        self.setWindowTitle("Users")
        self.setObjectName("usersDialog")
        self.resize(640, 420)
        self.form: UserForm | None = None
        self.model: RowTableModel[UserRow] = RowTableModel(USER_COLUMNS, self)
        self.table = table_view(self.model, "users")
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.doubleClicked.connect(lambda _i: self.edit_user())
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._enable())

        self.notice = QLabel("", objectName="mergedNotice")
        self.notice.setWordWrap(True)
        self.merged_list = QListWidget(objectName="mergedUsers")
        self.merged_list.setMaximumHeight(80)
        self.split_button = QPushButton("&Split…", objectName="splitUser")
        self.split_button.clicked.connect(self.split_user)
        self.merged_box = QWidget(objectName="mergedBox")
        merged_layout = QVBoxLayout(self.merged_box)
        merged_layout.setContentsMargins(0, 0, 0, 0)
        merged_layout.addWidget(self.notice)
        row = QHBoxLayout()
        row.addWidget(self.merged_list, 1)
        row.addWidget(self.split_button, 0, Qt.AlignmentFlag.AlignTop)
        merged_layout.addLayout(row)
        self.merged_box.hide()

        self.add_button = QPushButton("&Add user…", objectName="addUser")
        self.edit_button = QPushButton("&Edit…", objectName="editUser")
        self.password_button = QPushButton("&Reset password…", objectName="resetPassword")
        self.active_button = QPushButton("&Disable", objectName="toggleActive")
        self.add_button.clicked.connect(self.add_user)
        self.edit_button.clicked.connect(self.edit_user)
        self.password_button.clicked.connect(self.reset_password)
        self.active_button.clicked.connect(self.toggle_active)
        buttons = QHBoxLayout()
        for b in (self.add_button, self.edit_button, self.password_button, self.active_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        buttons.addWidget(close)
        self.status = QLabel("", objectName="usersStatus")
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("The practice's users: changes here reach every computer of "
                                "the practice at its next synchronization."))
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addWidget(self.merged_box)
        self._enable()
        self.refresh()

    # Showing ----------------------------------------------------------------------
    def refresh(self) -> None:
        users = self.ctx.store.users
        ReadOp(lambda: (users.list(), users.merged())).success(self._fill).failure(
            self._failed).run(self.ctx.ops)

    def on_changed(self, flags: set[str]) -> None:
        """Changes from another window or pulled from another PC."""
        if flags & (CHANGES | {"external"}):
            self.refresh()

    def _fill(self, result: tuple[list[UserRow], list[MergedUser]]) -> None:
        users, merged = result
        chosen = self.selected()
        self.model.set_rows(users)
        if chosen is not None:
            for i, u in enumerate(users):
                if u.id == chosen.id:
                    self.table.selectRow(i)
        self.merged_list.clear()
        for m in merged:
            item = QListWidgetItem(f"{m.username}: “{m.display_name}” is now “"
                                   f"{m.kept_display_name}”")
            item.setData(Qt.ItemDataRole.UserRole, m)
            self.merged_list.addItem(item)
        if merged:
            self.notice.setText(
                "These users were made on two computers under the same user name while they "
                "were not connected, and are now one user, who sees the patients given to "
                "either and signs in with the password of the one made first. If they are "
                "two different people, choose Split and give one of them another user name.")
            self.merged_list.setCurrentRow(0)
        self.merged_box.setVisible(bool(merged))
        self._enable()

    def selected(self) -> UserRow | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.row_at(rows[0].row()) if rows else None

    def select(self, username: str) -> None:
        for i, u in enumerate(self.model.rows):
            if u.username == username:
                self.table.selectRow(i)
                return

    def _enable(self) -> None:
        user = self.selected()
        for b in (self.edit_button, self.password_button, self.active_button):
            b.setEnabled(user is not None)
        self.active_button.setText("&Enable" if user is not None and not user.active
                                   else "&Disable")

    # Changing ---------------------------------------------------------------------
    def _save(self, form: UserForm, fn: Any, done: str) -> None:
        def submitted(values: dict[str, Any]) -> None:
            def ok(_result: object) -> None:
                form.accept()
                self.status.setText(done.format(**values))
                self.refresh()

            def refused(exc: BaseException) -> None:
                form.show_error(str(exc) if isinstance(exc, StoreError) else
                                "The change could not be saved. Please try again.")

            WriteOp(lambda: fn(values), CHANGES).success(ok).failure(refused).run(self.ctx.ops)

        form.submitted.connect(submitted)
        self.form = form
        form.open()

    def add_user(self) -> None:
        users, by = self.ctx.store.users, self.ctx.viewer
        form = UserForm("New user", username=True, name="", role="member", password=True,
                        parent=self)
        self._save(form, lambda v: users.create(v["username"], v["display_name"],
                                                v["password"], v["role"], by=by),
                   "The user {username} was added.")

    def edit_user(self) -> None:
        user = self.selected()
        if user is None:
            return
        users, by = self.ctx.store.users, self.ctx.viewer
        form = UserForm(f"Edit {user.username}", name=user.display_name, role=user.role,
                        parent=self)
        self._save(form, lambda v: users.update(by, user.id, display_name=v["display_name"],
                                                role=v["role"]),
                   f"{user.username} was changed.")

    def reset_password(self) -> None:
        user = self.selected()
        if user is None:
            return
        users, by = self.ctx.store.users, self.ctx.viewer
        form = UserForm(f"New password for {user.username}", password=True, parent=self)
        self._save(form, lambda v: users.set_password(by, user.id, v["password"]),
                   f"The password of {user.username} was changed.")

    def toggle_active(self) -> None:
        user = self.selected()
        if user is None:
            return
        users, by = self.ctx.store.users, self.ctx.viewer
        done = (f"{user.username} was enabled." if not user.active else
                f"{user.username} was disabled and can no longer sign in.")

        def ok(_row: object) -> None:
            self.status.setText(done)
            self.refresh()

        WriteOp(lambda: users.update(by, user.id, active=not user.active), CHANGES).success(
            ok).failure(self._failed).run(self.ctx.ops)

    def split_user(self) -> None:
        item = self.merged_list.currentItem()
        if item is None:
            return
        merged: MergedUser = item.data(Qt.ItemDataRole.UserRole)
        users, by = self.ctx.store.users, self.ctx.viewer
        form = UserForm(f"Split {merged.username}", username=True, parent=self)
        form.error.setText(f"“{merged.display_name}” becomes a user of their own again, "
                           "with the patients given to them. Give them another user name.")
        form.error.setStyleSheet("")
        form.error.show()
        self._save(form, lambda v: users.split(by, merged.id, v["username"]),
                   "{username} is a user of their own again.")

    def _failed(self, exc: BaseException) -> None:
        self.status.setText(str(exc) if isinstance(exc, StoreError) else
                            "The users could not be read or changed. Please try again.")
