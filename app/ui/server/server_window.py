"""The Server window (admins only): registration, the upload password, the portal's
passwords, server accounts and what is shared with them, automatic upload.

Every network and keyring call runs as an op on a worker (sync_agent.server_service);
the window only shows results. Passwords typed here are sent and forgotten: the
fields are cleared, and only the upload password is kept (in the OS keyring).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QSize
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.core.agent_requests import RequestKind
from app.platform.secrets import SecretStore
from app.store.dto import PatientFilter
from app.store.sync.agent_repo import AgentStatus
from app.store.sync.upload_list_repo import QueueCounts
from app.ui.server.server_dialogs import (
    ACCOUNT_COLUMNS,
    ExpiryDialog,
    NewAccountDialog,
    ShareDialog,
    UploadPasswordDialog,
    password_field,
)
from app.ui.server.server_portal_panel import PortalPanel
from app.ui.shell.context import AppContext
from app.ui.shell.ops import ReadOp, WriteOp, user_message
from app.ui.widgets import plain_text
from app.ui.widgets.screen_fit import resize_to_fit
from app.ui.widgets.table_model import RowTableModel
from sync_agent.server_service import Account, ServerAdmin, ServerState


class ServerWindow(QDialog):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None,
                 secrets: SecretStore | None = None) -> None:
        super().__init__(parent)
        plain_text.install()  # the server's messages are never markup
        if not ctx.viewer.is_admin:
            raise PermissionError("the Server window is for admins")
        self.ctx = ctx
        self.admin = ServerAdmin(ctx.store.db, secrets or SecretStore())
        self.agent = ctx.store.agent
        self.queue = ctx.store.upload_list
        self.state: ServerState | None = None
        self.dialog: QDialog | None = None
        self.setWindowTitle("Server")
        self.setObjectName("serverWindow")
        resize_to_fit(self, QSize(760, 820))

        self.installation = QLabel("…", objectName="installationId")
        self.keyring = QLabel("", objectName="keyringInfo")
        self.keyring.setWordWrap(True)
        self.message = QLabel("", objectName="message")
        self.message.setWordWrap(True)

        layout = QVBoxLayout(self)
        head = QFormLayout()
        head.addRow("Installation ID:", self.installation)
        layout.addLayout(head)
        layout.addWidget(self.keyring)
        layout.addWidget(self._registration_box())
        layout.addWidget(self._upload_box())
        self.portal = PortalPanel(ctx, self.admin, self._run, self.message.setText)
        layout.addWidget(self.portal)
        layout.addWidget(self._accounts_box(), 1)
        self.accounts_box.hide()  # until this computer is known to be connected
        layout.addWidget(self._sync_box())
        layout.addWidget(self.message)
        self.refresh()

    # Layout ------------------------------------------------------------------------
    def _registration_box(self) -> QGroupBox:
        self.register_box = QGroupBox("Register this practice database")
        self.server_url = QLineEdit(objectName="serverUrl")
        self.server_url.setPlaceholderText("https://server.example.com")
        self.email = QLineEdit(objectName="email")
        self.register_button = QPushButton("Register", objectName="register")
        self.register_button.clicked.connect(self.register)
        form = QFormLayout(self.register_box)
        form.addRow("Server address", self.server_url)
        form.addRow("Email for the upload password", self.email)
        form.addRow(self.register_button)
        return self.register_box

    def _upload_box(self) -> QGroupBox:
        box = QGroupBox("Upload password for the database")
        self.upload_status = QLabel("", objectName="uploadStatus")
        self.upload_password = password_field("uploadPassword")
        self.upload_password.setPlaceholderText("as received by email")
        self.connect_button = QPushButton("Connect this computer", objectName="connect")
        self.connect_button.clicked.connect(self.connect_pc)
        self.upload_password.returnPressed.connect(self.connect_pc)  # typed, then Enter
        self.resend_button = QPushButton("Resend by email", objectName="resend")
        self.resend_button.clicked.connect(self.resend)
        self.change_button = QPushButton("Change…", objectName="changeUpload")
        self.change_button.clicked.connect(self.change_upload)
        row = QHBoxLayout()
        for w in (self.upload_password, self.connect_button, self.resend_button,
                  self.change_button):
            row.addWidget(w)
        v = QVBoxLayout(box)
        v.addWidget(self.upload_status)
        v.addLayout(row)
        return box

    def _accounts_box(self) -> QGroupBox:
        self.accounts_box = QGroupBox("Accounts on the server, and what they see")
        self.accounts = RowTableModel(ACCOUNT_COLUMNS, self)
        self.table = QTableView(objectName="accounts")
        self.table.setModel(self.accounts)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.doubleClicked.connect(lambda _i: self.share())
        buttons = QHBoxLayout()
        for name, text, slot in (
            ("refreshAccounts", "Refresh", self.load_accounts),
            ("createAccount", "Create…", self.create_account),
            ("deleteAccount", "Delete", self.delete_account),
            ("expiryAccount", "Expiry…", self.set_expiry),
            ("shareAccount", "Share…", self.share),
            ("setupLink", "Setup link", self.setup_link),
            ("groups", "Groups and permissions…", self.edit_groups),
        ):
            b = QPushButton(text, objectName=name)
            b.clicked.connect(slot)
            buttons.addWidget(b)
        v = QVBoxLayout(self.accounts_box)
        v.addWidget(self.table)
        v.addLayout(buttons)
        return self.accounts_box

    def _sync_box(self) -> QGroupBox:
        box = QGroupBox("Upload")
        self.automatic = QCheckBox("Automatic update", objectName="automaticUpdate")
        self.automatic.setChecked(bool(self.ctx.store.settings.get("automatic_update")))
        self.automatic.clicked.connect(self.set_automatic)
        self.update_all = QPushButton("Update all patient data on the server now",
                                      objectName="updateAll")
        self.update_all.clicked.connect(self.request_update_all)
        self.service = QLabel("", objectName="serviceStatus")
        v = QVBoxLayout(box)
        v.addWidget(self.automatic)
        v.addWidget(self.update_all)
        v.addWidget(self.service)
        return box

    def edit_groups(self) -> None:
        """Who holds which permission (the data download): program users and accounts."""
        from app.ui.server.groups_dialog import GroupsDialog

        admin, users = self.admin, self.ctx.store.users

        def show(found: tuple[list[Any], list[Account], list[dict[str, Any]]]) -> None:
            def save(name: str, permissions: list[str], members: dict[str, str]) -> None:
                self._run(lambda: admin.set_group(name, permissions, members),
                          self._say(f"The group “{name}” was saved."))

            self.message.setText("")
            self.dialog = GroupsDialog(*found, save, parent=self)
            self.dialog.open()

        self._run(lambda: (users.list(active_only=True), admin.accounts(), admin.groups()),
                  show)

    # Running things off the UI thread -------------------------------------------------
    def _run(self, fn: Callable[[], Any], done: Callable[[Any], None],
             busy: str | None = "Talking to the server…") -> None:
        """Run `fn` on a worker; `busy` (None: a quiet background read) is shown
        meanwhile, and `done` gets the result on the UI thread."""
        if busy is not None:
            self.message.setText(busy)
        ReadOp(fn).success(done).failure(self._failed).run(self.ctx.ops)

    def _failed(self, exc: BaseException) -> None:
        self.message.setText(f"Not done: {user_message(exc)}")

    def _say(self, text: str) -> Callable[[Any], None]:
        return lambda _result: self.message.setText(text)

    # State -----------------------------------------------------------------------------
    def refresh(self) -> None:
        ReadOp(self.admin.state).success(self._show_state).failure(self._failed) \
            .run(self.ctx.ops)
        self._read_service()

    def on_external(self) -> None:
        """Another process wrote to the database (the agent, or `sync_agent connect` in
        a terminal): show a registration or connection made there at once."""
        def compare(state: ServerState) -> None:
            old = self.state
            if old is None or (old.installation_id, old.connected) != (
                    state.installation_id, state.connected):
                self._show_state(state)

        ReadOp(self.admin.state).success(compare).failure(self._failed).run(self.ctx.ops)
        self._read_service()

    def _read_service(self) -> None:
        agent, queue, viewer = self.agent, self.queue, self.ctx.viewer
        ReadOp(lambda: (agent.status(), queue.counts(viewer))).success(
            self._show_service).run(self.ctx.ops)

    def _show_state(self, state: ServerState) -> None:
        self.state = state
        registered = bool(state.installation_id)
        self.installation.setText(state.installation_id or "not registered yet")
        self.register_box.setVisible(not registered)
        info = state.keyring
        # Without a secure keyring, secrets go to a file only this user account reads
        # (if the user agreed to one for the database key), else they are not kept.
        where = "in the keyring" if info.secure else "in a file only your user account can read"
        self.keyring.setText(
            info.describe() if info.secure else
            "Warning: " + info.describe() + (
                f" The upload password is kept {where}." if state.upload_password_saved else
                " The upload password is not kept; you will be asked for it when needed."))
        self.keyring.setStyleSheet("" if info.secure else "color: #a3141e;")
        if not registered:
            self.upload_status.setText("Register first; the server mails the upload password.")
        elif state.connected:
            kept = f"kept {where}" if state.upload_password_saved else "not kept here"
            self.upload_status.setText(f"This computer is connected (upload password {kept}).")
        else:
            self.upload_status.setText(
                f"Enter the upload password mailed to {state.email or 'the registered address'}.")
        self.upload_password.setVisible(registered and not state.connected)
        self.connect_button.setVisible(registered and not state.connected)
        self.resend_button.setEnabled(registered)
        self.change_button.setEnabled(registered)
        self.portal.setEnabled(state.connected)
        self.accounts_box.setEnabled(state.connected)
        # Of no use before this computer is connected; hidden, the window fits a
        # 1280×720 screen while the registration box shows.
        self.accounts_box.setVisible(state.connected)
        if state.connected:
            self._run(self.admin.portal_settings, self.portal.show_settings, None)
            self._run(self.admin.accounts, self._show_accounts, None)

    def _show_service(self, found: tuple[AgentStatus, QueueCounts]) -> None:
        status, counts = found
        self.service.setText(status.describe(counts.sentence()))

    # Registration and the upload password -------------------------------------------
    def register(self) -> None:
        url, email = self.server_url.text().strip(), self.email.text().strip()
        # Each field gets its own reason: a typo in one must not read as both being empty.
        if not url:
            self.message.setText("Enter the server address, e.g. https://server.example.com.")
            return
        if not url.lower().startswith(("https://", "http://")):
            self.message.setText("The server address starts with https://, "
                                 "e.g. https://server.example.com.")
            return
        if "@" not in email.strip("@"):
            self.message.setText("Enter the email address the upload password is sent to, "
                                 "e.g. name@example.com.")
            return
        self._run(lambda: self.admin.register(url, email), self._registered, "Registering…")

    def _registered(self, installation_id: str) -> None:
        self.message.setText(f"Registered as {installation_id}. The upload password was "
                             "sent by email; check the spam folder too.")
        self.refresh()

    def connect_pc(self) -> None:
        password = self.upload_password.text()
        self.upload_password.clear()
        if not password:
            self.message.setText("Enter the upload password from the email.")
            return
        self._run(lambda: self.admin.connect(password), self._connected, "Connecting…")

    def _connected(self, _result: object) -> None:
        self.message.setText("This computer is connected to the server.")
        self.refresh()

    def resend(self) -> None:
        self._run(self.admin.resend_upload_password,
                  lambda to: self.message.setText(f"A new upload password was sent to {to}."))

    def change_upload(self) -> None:
        saved = bool(self.state and self.state.upload_password_saved)
        dialog = UploadPasswordDialog(saved, self)
        self.dialog = dialog

        def send() -> None:
            current, new = dialog.current.text() or None, dialog.new.text()
            if not new or new != dialog.repeat.text():
                self.message.setText("The two new passwords differ.")
                return
            self._run(lambda: self.admin.change_upload_password(current, new),
                      self._changed_upload)

        dialog.accepted.connect(send)
        dialog.open()

    def _changed_upload(self, _result: object) -> None:
        self.message.setText("The upload password was changed.")
        self.refresh()

    # Accounts ------------------------------------------------------------------------
    def load_accounts(self) -> None:
        self._run(self.admin.accounts, self._accounts_done("The list is up to date."),
                  "Reading the accounts…")

    def _show_accounts(self, rows: list[Account]) -> None:
        self.accounts.set_rows(rows)

    def _accounts_done(self, text: str) -> Callable[[list[Account]], None]:
        def done(rows: list[Account]) -> None:
            self._show_accounts(rows)
            self.message.setText(text)

        return done

    def selected(self) -> Account | None:
        rows = self.table.selectionModel().selectedRows()
        return self.accounts.row_at(rows[0].row()) if rows else None

    def create_account(self) -> None:
        dialog = NewAccountDialog(self)
        self.dialog = dialog

        def send() -> None:
            name, password = dialog.name.text().strip(), dialog.password.text() or None
            until = dialog.expires_at()
            dialog.password.clear()
            self._run(lambda: self.admin.create_account(name, password, until),
                      self._accounts_done(f"The account {name} was created."))

        dialog.accepted.connect(send)
        dialog.open()

    def delete_account(self) -> None:
        account = self.selected()
        if account is None:
            return
        answer = QMessageBox.question(self, "Delete account",
                                      f"Delete the account {account.name}? It can no longer "
                                      "sign in, and its sessions end now.")
        if answer == QMessageBox.StandardButton.Yes:
            self._run(lambda: self.admin.delete_account(account.id),
                      self._accounts_done(f"The account {account.name} was deleted."))

    def set_expiry(self) -> None:
        account = self.selected()
        if account is None:
            return
        dialog = ExpiryDialog(account, self)
        self.dialog = dialog
        dialog.accepted.connect(lambda: self._run(
            lambda: self.admin.set_expiry(account.id, dialog.expires_at()),
            self._accounts_done(f"The expiry of {account.name} was saved.")))
        dialog.open()

    def share(self) -> None:
        account = self.selected()
        if account is None:
            return
        viewer = self.ctx.viewer

        def ask(patients: list[Any]) -> None:
            dialog = ShareDialog(account, patients, self)
            self.dialog = dialog
            dialog.accepted.connect(lambda: self._run(
                lambda: self.admin.set_shares(account.id, dialog.whole.isChecked(),
                                              [] if dialog.whole.isChecked()
                                              else dialog.patient_ids()),
                self._accounts_done(f"What {account.name} sees was saved.")))
            dialog.open()

        ReadOp(lambda: self.ctx.store.patients.search(viewer, PatientFilter(), limit=2000)) \
            .success(ask).failure(self._failed).run(self.ctx.ops)

    def setup_link(self) -> None:
        account = self.selected()
        if account is None:
            return
        self._run(lambda: self.admin.setup_link(account.id, None),
                  lambda link: self.message.setText(
                      f"Give this single-use link to {account.name} (valid 72 hours): {link}"))

    # Upload ----------------------------------------------------------------------------
    def set_automatic(self, on: bool) -> None:
        WriteOp(lambda: self.ctx.store.settings.set("automatic_update", bool(on)),
                changes={"settings"}).success(
            self._say("Automatic update is on." if on else "Automatic update is off.")
        ).failure(self._failed).run(self.ctx.ops)

    def request_update_all(self) -> None:
        WriteOp(lambda: self.agent.request(RequestKind.UPDATE_ALL)).success(
            self._say("All patient data will be uploaded in the background.")
        ).failure(self._failed).run(self.ctx.ops)
        self._read_service()
