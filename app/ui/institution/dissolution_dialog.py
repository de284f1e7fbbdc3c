"""Institution settings ▸ Dissolution of institution (seed 000): the notice to read and
agree to, Continue; the administrator account to verify with and the one-time code sent
to its address, Next; Confirm. The clinic is then dissolved in 72 hours, during which
any administrator revokes it from the Institution window (DissolutionBox).

Also the message a PC shows when the dissolution was carried out and its data deleted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.store.db import Database
from app.store.sync import purge_repo
from app.ui.institution.server_words import said
from app.ui.shell.context import AppContext
from app.ui.shell.ops import ReadOp
from app.ui.widgets.formatting import server_time
from app.ui.widgets.screen_fit import resize_to_fit
from sync_agent.dissolution_service import Account, CodeSent, Dissolutions
from sync_agent.institution_service import InstitutionView

NOTICE = """<p><b>Institutional Dissolution Notice</b></p><ul>
<li>After the institution is dissolved, all its data — cases, connections with labs,
members and patients — is deleted from the server and from the practice's computers.
Check whether there are cases not finished yet, and deal with them in time.</li>
<li>After the institution is dissolved, nothing more can be done for it: creating or
receiving cases, adding members, making connections and managing patients are refused.
</li>
<li>The dissolution does not affect the user accounts: they can still sign in.</li>
<li>To keep the data, move it to another clinic first with
<b>Send this clinic's data to another clinic…</b> in the Institution window.</li>
<li>Once the dissolution is carried out the data cannot be retrieved: make a backup.
This cannot be undone; proceed with caution.</li>
<li>The institution is dissolved 72 hours after you confirm. Until then any
administrator can revoke the dissolution here.</li></ul>"""
NOTICE_PAGE, CODE_PAGE, CONFIRM_PAGE = range(3)




class DissolutionDialog(QDialog):
    """The wizard; `view` is the institution as the server tells it once confirmed."""

    def __init__(self, ctx: AppContext, service: Dissolutions, name: str,  # noqa: PLR0915
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.service = service
        self.view: InstitutionView | None = None
        self.sent: CodeSent | None = None
        self.accounts: list[Account] = []
        self.setWindowTitle("Dissolution of institution")
        self.setObjectName("dissolution")
        resize_to_fit(self, QSize(560, 520))
        self.pages = QStackedWidget()

        notice = QWidget()
        text = QLabel(NOTICE, objectName="notice", wordWrap=True)
        text.setTextFormat(Qt.TextFormat.RichText)
        text.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.agree = QCheckBox("I have read and &agree to the Institutional Dissolution "
                               "Notice", objectName="agree")
        self.continue_button = QPushButton("&Continue", objectName="continue")
        self.continue_button.setEnabled(False)
        self.agree.toggled.connect(self.continue_button.setEnabled)
        self.continue_button.clicked.connect(self._to_code)
        box = QVBoxLayout(notice)
        box.addWidget(text, 1)
        box.addWidget(self.agree)
        box.addWidget(self.continue_button, 0, Qt.AlignmentFlag.AlignRight)

        code = QWidget()
        self.account = QComboBox(objectName="account")
        self.send_button = QPushButton("&Send code", objectName="sendCode")
        self.send_button.clicked.connect(self.send_code)
        self.code = QLineEdit(objectName="code", maxLength=12)
        self.code.setPlaceholderText("6-digit code")
        self.code.textChanged.connect(self._code_typed)
        self.next_button = QPushButton("&Next", objectName="next")
        self.next_button.setEnabled(False)
        self.next_button.clicked.connect(lambda: self.pages.setCurrentIndex(CONFIRM_PAGE))
        pick = QHBoxLayout()
        pick.addWidget(self.account, 1)
        pick.addWidget(self.send_button)
        box = QVBoxLayout(code)
        box.addWidget(QLabel("Select an account to complete the verification. A one-time "
                             "code is sent to its email address.", wordWrap=True))
        box.addLayout(pick)
        box.addWidget(QLabel("Enter the verification code you received:"))
        box.addWidget(self.code)
        box.addStretch()
        box.addWidget(self.next_button, 0, Qt.AlignmentFlag.AlignRight)

        confirm = QWidget()
        self.confirm_button = QPushButton("Con&firm", objectName="confirm")
        self.confirm_button.clicked.connect(self.confirm)
        back = QPushButton("&Back")
        back.clicked.connect(lambda: self.pages.setCurrentIndex(CODE_PAGE))
        box = QVBoxLayout(confirm)
        box.addWidget(QLabel(f"Dissolve {name}? It is dissolved 72 hours after you confirm: "
                             "its cases, connections, members and patients are then "
                             "deleted. Until then any administrator can revoke it.",
                             wordWrap=True, objectName="question"))
        box.addStretch()
        buttons = QHBoxLayout()
        buttons.addStretch()
        buttons.addWidget(back)
        buttons.addWidget(self.confirm_button)
        box.addLayout(buttons)

        for page in (notice, code, confirm):
            self.pages.addWidget(page)
        self.message = QLabel(objectName="message", wordWrap=True)
        cancel = QPushButton("Cancel")
        cancel.clicked.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.pages, 1)
        layout.addWidget(self.message)
        layout.addWidget(cancel, 0, Qt.AlignmentFlag.AlignLeft)

    def _ask(self, work: Callable[[], Any], busy: str, done: Callable[[Any], None]) -> None:
        self.message.setText(busy)
        self.pages.setEnabled(False)

        def failed(exc: BaseException) -> None:
            self.pages.setEnabled(True)
            self.message.setText(said(exc))

        def succeeded(result: Any) -> None:
            self.pages.setEnabled(True)
            self.message.setText("")
            done(result)

        ReadOp(work).success(succeeded).failure(failed).run(self.ctx.ops)

    def _to_code(self) -> None:
        self.pages.setCurrentIndex(CODE_PAGE)
        self.send_button.setEnabled(False)
        self._ask(self.service.accounts, "Asking the server for the institution's "
                  "administrator accounts…", self._got_accounts)

    def _got_accounts(self, accounts: list[Account]) -> None:
        self.accounts = accounts
        self.account.clear()
        for a in accounts:
            self.account.addItem(f"{a.name} — {a.sent_to}", a.key)
        self.send_button.setEnabled(bool(accounts))
        if not accounts:
            self.message.setText("No administrator account has an email address for codes. "
                                 "Set one in Sync ▸ Server…, Groups and permissions.")

    def send_code(self) -> None:
        key = str(self.account.currentData() or "")
        if key:
            self._ask(lambda: self.service.send_code(key), "Sending the code…", self._sent)

    def _sent(self, sent: CodeSent) -> None:
        self.sent = sent
        self.message.setText(f"A code was sent to {sent.sent_to}. It is valid for 10 "
                             "minutes.")
        self.code.setFocus()
        self._code_typed()

    def _code_typed(self) -> None:
        self.next_button.setEnabled(self.sent is not None and bool(self.code.text().strip()))

    def confirm(self) -> None:
        if self.sent is None:
            return
        code_id, code = self.sent.code_id, self.code.text().strip()

        def refused(exc: BaseException) -> None:
            self.pages.setEnabled(True)
            self.pages.setCurrentIndex(CODE_PAGE)  # type the code again
            self.message.setText(said(exc))

        self.message.setText("Confirming…")
        self.pages.setEnabled(False)
        ReadOp(lambda: self.service.confirm(code_id, code)).success(self._confirmed) \
            .failure(refused).run(self.ctx.ops)

    def _confirmed(self, view: InstitutionView) -> None:
        self.view = view
        self.accept()


class DissolutionBox(QGroupBox):
    """The Institution window's part: the dissolution's state, the wizard's button and
    Revoke dissolution. `shown(view, note)` gives the window the server's answer."""

    def __init__(self, ctx: AppContext, service: Dissolutions,
                 shown: Callable[[InstitutionView, str], None]) -> None:
        super().__init__("Dissolution of institution")
        self.ctx = ctx
        self.service = service
        self.shown = shown
        self.view: InstitutionView | None = None
        self.state = QLabel(objectName="dissolutionState", wordWrap=True)
        self.dissolve_button = QPushButton("&Dissolution of institution…",
                                           objectName="dissolve")
        self.dissolve_button.clicked.connect(self.open_wizard)
        self.revoke_button = QPushButton("&Revoke dissolution", objectName="revoke")
        self.revoke_button.clicked.connect(self.revoke)
        row = QHBoxLayout(self)
        row.addWidget(self.state, 1)
        row.addWidget(self.dissolve_button)
        row.addWidget(self.revoke_button)
        self.wizard: DissolutionDialog | None = None

    def show_view(self, view: InstitutionView) -> None:
        self.view = view
        when = server_time(view.dissolve_at)
        self.state.setText(
            f"This institution will be dissolved on {when}. Until then nothing can be "
            "changed; any administrator can revoke the dissolution." if
            view.dissolution == "pending" else
            f"This institution was dissolved on {when}." if view.dissolution == "done" else
            "Dissolving the institution deletes its cases, connections, members and "
            "patients 72 hours after it is confirmed.")
        self.dissolve_button.setVisible(not view.dissolution)
        self.revoke_button.setVisible(view.dissolution == "pending")
        self.dissolve_button.setEnabled(view.is_admin)
        self.revoke_button.setEnabled(view.is_admin)

    def open_wizard(self) -> None:
        name = self.view.name if self.view else "the institution"
        self.wizard = DissolutionDialog(self.ctx, self.service, name, self)
        self.wizard.accepted.connect(self._confirmed)
        self.wizard.open()

    def _confirmed(self) -> None:
        if self.wizard is not None and self.wizard.view is not None:
            view = self.wizard.view
            self.shown(view, f"The institution will be dissolved on "
                             f"{server_time(view.dissolve_at)}. Until then any "
                             "administrator can revoke it here.")

    def revoke(self) -> None:
        self.revoke_button.setEnabled(False)

        def failed(exc: BaseException) -> None:
            self.revoke_button.setEnabled(True)
            self.state.setText(said(exc))

        ReadOp(self.service.revoke).success(
            lambda v: self.shown(v, "The dissolution was revoked: the institution works "
                                    "as before.")).failure(failed).run(self.ctx.ops)


def show_dissolved_notice(parent: QWidget, db: Database) -> QMessageBox | None:
    """Tell why the practice's data went away, once (the purge left the reason)."""
    shown = parent.findChild(QMessageBox, "dissolvedNotice")
    if shown is not None and shown.isVisible():
        return shown
    said = purge_repo.notice(db)
    if not said:
        return None
    box = QMessageBox(QMessageBox.Icon.Information, "The clinic was dissolved",
                      f"{said}\n\nThe program users still sign in. Data entered from now "
                      "on is kept on this computer only.", QMessageBox.StandardButton.Ok,
                      parent)
    box.setObjectName("dissolvedNotice")
    box.finished.connect(lambda _r: purge_repo.notice_seen(db))
    box.open()
    return box
