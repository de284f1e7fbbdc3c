"""The Server window against the real cloud process on loopback and a real SMTP server
(aiosmtpd) that receives the upload password mail."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import logging
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from app.store import keys
from app.store.sync.agent_repo import AgentRepo
from app.ui.server.server_dialogs import NewAccountDialog, ShareDialog, UploadPasswordDialog
from app.ui.server.server_portal_panel import PatientPasswordDialog
from app.ui.server.server_window import ServerWindow
from sync_agent.server_service import UPLOAD_PASSWORD
from tests.integration.cloud.conftest import Server, start_server, stop_server
from tests.unit.cloud.portal.support import doctor_login, patient_login
from tests.unit.cloud.support import register_pc

WAIT = 30_000
LOGIN_PW = "login-Password-77"
ADMIN_PW = "admin-Password-77"
GENERAL_PW = "general-pw-77"
ACCOUNT_PW = "colleague-Password-77"
NEW_UPLOAD_PW = "new-Upload-Password-77"
PATIENT_PW = "ann-page-pw-77"


class Inbox:
    def __init__(self) -> None:
        self.bodies: list[str] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.bodies.append(msg.get_body().get_content())  # type: ignore[union-attr]
        return "250 OK"

    def upload_password(self, index: int) -> str:
        m = re.search(r"Upload password: (\S+)", self.bodies[index])
        assert m
        return m.group(1)


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    box = Inbox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


@pytest.fixture
def cloud(tmp_path: Path, inbox: tuple[Inbox, int]) -> Iterator[Server]:
    srv = start_server(tmp_path / "cloud", {
        "DATABASE_URL": "", "CHAIRSIDE_CLOUD_SMTP_HOST": "127.0.0.1",
        "CHAIRSIDE_CLOUD_SMTP_PORT": str(inbox[1]), "CHAIRSIDE_CLOUD_SMTP_SECURITY": "none",
        "CHAIRSIDE_CLOUD_PASSWORD_MAIL_INTERVAL_S": "0"})
    yield srv
    stop_server(srv)


def _row(w: ServerWindow, name: str) -> int:
    for i, a in enumerate(w.accounts.rows):
        if a.name == name:
            return i
    return -1


def _select(w: ServerWindow, name: str) -> None:
    w.table.selectRow(_row(w, name))


def test_server_window_end_to_end(ctx: Any, qtbot: Any, cloud: Server, inbox: tuple[Inbox, int],
                                  secrets_store: Any, db_path: Path, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch,
                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    box, _port = inbox
    w = ServerWindow(ctx, secrets=secrets_store)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.installation.text() == "not registered yet", timeout=WAIT)
    assert w.keyring.text() == secrets_store.info().describe()
    assert not w.accounts_box.isEnabled()

    # Register: the server mails the upload password.
    w.server_url.setText(cloud.url)
    qtbot.keyClicks(w.email, "clinic@example.com")
    qtbot.mouseClick(w.register_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: re.fullmatch(r"\d{12}", w.installation.text()) is not None,
                    timeout=WAIT)
    iid = w.installation.text()
    assert len(box.bodies) == 1 and iid in box.bodies[0]
    first = box.upload_password(0)

    # Typed once: this PC is connected and the password kept in the keyring.
    qtbot.keyClicks(w.upload_password, first)
    qtbot.mouseClick(w.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "connected" in w.upload_status.text(), timeout=WAIT)
    assert keys.load_secret(db_path, UPLOAD_PASSWORD, secrets_store) == first
    assert w.upload_password.text() == ""

    qtbot.mouseClick(w.resend_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(box.bodies) == 2, timeout=WAIT)
    qtbot.waitUntil(lambda: "was sent to c***@example.com" in w.message.text(), timeout=WAIT)

    # Change it: the current one comes from the keyring.
    qtbot.mouseClick(w.change_button, Qt.MouseButton.LeftButton)
    assert isinstance(w.dialog, UploadPasswordDialog)
    w.dialog.new.setText(NEW_UPLOAD_PW)
    w.dialog.repeat.setText(NEW_UPLOAD_PW)
    w.dialog.accept()
    qtbot.waitUntil(lambda: "was changed" in w.message.text(), timeout=WAIT)
    assert keys.load_secret(db_path, UPLOAD_PASSWORD, secrets_store) == NEW_UPLOAD_PW

    # The portal's passwords, stored on the server only.
    for kind, password in (("login", LOGIN_PW), ("admin", ADMIN_PW), ("general", GENERAL_PW)):
        qtbot.keyClicks(w.portal.fields[kind], password)
        qtbot.mouseClick(w.findChild(type(w.register_button), f"{kind}Set"),
                         Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda k=kind: w.portal.status[k].text() == "set", timeout=WAIT)
        assert w.portal.fields[kind].text() == ""

    # Accounts: a permanent one and a temporary one.
    for name, temporary in (("colleague", False), ("visitor", True)):
        qtbot.mouseClick(w.findChild(type(w.register_button), "createAccount"),
                         Qt.MouseButton.LeftButton)
        assert isinstance(w.dialog, NewAccountDialog)
        w.dialog.name.setText(name)
        w.dialog.password.setText(ACCOUNT_PW)
        w.dialog.temporary.setChecked(temporary)
        w.dialog.accept()
        qtbot.waitUntil(lambda n=name: _row(w, n) >= 0, timeout=WAIT)
    visitor = w.accounts.rows[_row(w, "visitor")]
    assert visitor.expires_at is not None and not visitor.expired

    # Share one patient with the colleague; the patient is on the server already.
    ann = ctx.store.patients.create(ctx.viewer, {"first_name": "Ann", "last_name": "Lee",
                                                 "gender": "female", "card_number": "C-77"})
    with httpx.Client(base_url=cloud.url, timeout=30) as http:
        other_pc = register_pc(http, iid, NEW_UPLOAD_PW, name="X-ray room")
        other_pc.push(other_pc.mutation("patient", ann.id, {
            "first_name": "Ann", "last_name": "Lee", "gender": "female",
            "card_number": "C-77"}))
        _select(w, "colleague")
        qtbot.mouseClick(w.findChild(type(w.register_button), "shareAccount"),
                         Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: isinstance(w.dialog, ShareDialog), timeout=WAIT)
        assert isinstance(w.dialog, ShareDialog)
        w.dialog.set_checked(ann.id)
        w.dialog.accept()
        qtbot.waitUntil(lambda: w.accounts.rows[_row(w, "colleague")].patient_ids == (ann.id,),
                        timeout=WAIT)
        r = doctor_login(http, iid, "colleague", ACCOUNT_PW, login_password=LOGIN_PW)
        assert r.status_code == 303
        assert ann.id in http.get("/doctor/patients").text

        # The patient's own password for his page.
        qtbot.mouseClick(w.portal.patient_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: isinstance(w.portal.dialog, PatientPasswordDialog),
                        timeout=WAIT)
        assert isinstance(w.portal.dialog, PatientPasswordDialog)
        w.portal.dialog.select(ann.id)
        w.portal.dialog.password.setText(PATIENT_PW)
        w.portal.dialog.accept()
        qtbot.waitUntil(lambda: "page password of Ann Lee" in w.message.text(), timeout=WAIT)
        assert patient_login(http, iid, "C-77", PATIENT_PW).status_code == 303

    monkeypatch.setattr(QMessageBox, "question",
                        lambda *_a, **_k: QMessageBox.StandardButton.Yes)
    _select(w, "visitor")
    qtbot.mouseClick(w.findChild(type(w.register_button), "deleteAccount"),
                     Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: _row(w, "visitor") < 0 and _row(w, "colleague") >= 0,
                    timeout=WAIT)

    # Automatic update off; update all asks the agent.
    w.automatic.click()
    qtbot.waitUntil(lambda: ctx.store.settings.get("automatic_update") is False, timeout=WAIT)
    qtbot.mouseClick(w.update_all, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "background" in w.message.text(), timeout=WAIT)
    assert [r.kind for r in AgentRepo(ctx.store.db).take_requests()] == ["update_all"]
    assert w.service.text() == "Sync service is not running"

    # No secret in any file (cloud database and log, the app's folders) or log record.
    secrets = [first, box.upload_password(1), NEW_UPLOAD_PW, LOGIN_PW, ADMIN_PW,
               GENERAL_PW, ACCOUNT_PW, PATIENT_PW]
    stop_server(cloud)
    for path in tmp_path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for secret in secrets:
                assert secret.encode() not in data, f"a password is in {path}"
    # (aiosmtpd, the test's stand-in for the mail provider, logs what it receives.)
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name != "mail.log")
    assert "HTTP Request" in ours
    for secret in secrets:
        assert secret not in ours


def test_server_window_warns_about_an_insecure_keyring(ctx: Any, qtbot: Any) -> None:
    from keyring.backends.null import Keyring as NullKeyring

    from app.platform.secrets import SecretStore

    w = ServerWindow(ctx, secrets=SecretStore(NullKeyring()))
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: w.keyring.text().startswith("Warning:"), timeout=WAIT)
    assert "No secure system keyring" in w.keyring.text()
    assert "upload password is not kept" in w.keyring.text()

    # Connected with the password kept in the user's own file: both lines say so.
    kept = dataclasses.replace(w.state, installation_id="123456789012", connected=True,
                               upload_password_saved=True)
    w._show_state(kept)
    assert w.upload_status.text() == ("This computer is connected (upload password kept in "
                                      "a file only your user account can read).")
    assert w.keyring.text().endswith(
        "The upload password is kept in a file only your user account can read.")


def test_registering_says_which_field_to_correct(ctx: Any, qtbot: Any) -> None:
    w = ServerWindow(ctx)
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: w.installation.text() == "not registered yet", timeout=WAIT)
    for url, mail, said in (
        ("", "clinic@example.com", "Enter the server address"),
        ("not a url", "clinic@example.com", "The server address starts with https://"),
        ("https://127.0.0.1:9", "bad-email", "Enter the email address"),
    ):
        w.server_url.setText(url)
        w.email.setText(mail)
        qtbot.mouseClick(w.register_button, Qt.MouseButton.LeftButton)
        assert w.message.text().startswith(said), (url, mail, w.message.text())
    assert w.installation.text() == "not registered yet"  # nothing was sent


def test_enter_in_the_upload_password_connects(ctx: Any, qtbot: Any) -> None:
    ctx.store.settings.set("installation_id", "123456789012")
    w = ServerWindow(ctx)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.state is not None and w.upload_password.isVisible(),
                    timeout=WAIT)
    tried: list[str] = []
    w.admin.connect = tried.append  # type: ignore[method-assign]
    qtbot.keyClicks(w.upload_password, "3TgavfYdKawja42V")
    qtbot.keyClick(w.upload_password, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: tried == ["3TgavfYdKawja42V"], timeout=WAIT)
    assert w.upload_password.text() == ""  # not left on the screen


def test_server_menu_is_for_admins_only(window: Any, store: Any, qapp: Any) -> None:
    from app.ui.shell.context import AppContext
    from app.ui.shell.main_window import MainWindow
    from app.ui.shell.ops import OpRunner

    assert window.server_action.text() == "&Server…"
    member = store.users.create("nina", "Nina", "correct horse", "member")
    ops = OpRunner()
    try:
        w = MainWindow(AppContext(store, member, ops))
        assert not hasattr(w, "server_action")
        with pytest.raises(PermissionError):
            ServerWindow(AppContext(store, member, ops))
        w.close()
    finally:
        ops.wait_idle()
        ops.shutdown()



def test_a_connection_made_in_a_terminal_shows_in_the_open_server_window(
        window: Any, qtbot: Any, cloud: Server, inbox: tuple[Inbox, int],
        secrets_store: Any, db_path: Path) -> None:
    from app.store.db import open_database
    from sync_agent import connection

    window.show_server()
    qtbot.waitUntil(lambda: any(d.isVisible() for d in window.findChildren(ServerWindow)))
    w = next(d for d in window.findChildren(ServerWindow) if d.isVisible())
    qtbot.waitUntil(lambda: w.installation.text() == "not registered yet", timeout=WAIT)
    # `python -m sync_agent connect` does this, on a connection of its own.
    other = open_database(db_path, secrets_store)
    try:
        iid = connection.register_installation(other, cloud.url, "clinic@example.com")
        qtbot.waitUntil(lambda: len(inbox[0].bodies) == 1, timeout=WAIT)
        connection.register_device(other, secrets_store, cloud.url, iid,
                                   inbox[0].upload_password(0))
    finally:
        other.close()
    qtbot.waitUntil(lambda: w.installation.text() == iid, timeout=WAIT)
    qtbot.waitUntil(lambda: "This computer is connected" in w.upload_status.text(),
                    timeout=WAIT)
    assert not w.register_box.isVisible() and w.accounts_box.isEnabled()


def test_the_server_window_fits_a_1280x720_display(ctx: Any, qtbot: Any) -> None:
    from PySide6.QtCore import QSize

    from app.ui.widgets.screen_fit import FRAME_ALLOWANCE, fitted

    room = QSize(1280, 720 - 30)  # a task bar of 30 pixels
    for registered in (False, True):
        if registered:
            ctx.store.settings.set("installation_id", "123456789012")
        w = ServerWindow(ctx)
        qtbot.addWidget(w)
        w.resize(fitted(QSize(760, 820), room))
        w.show()
        qtbot.waitUntil(lambda w=w: w.state is not None)
        qtbot.waitUntil(lambda w=w: w.height() + FRAME_ALLOWANCE <= room.height())
        # Everything shows, down to the message line.
        for name in ("automaticUpdate", "serviceStatus", "message"):
            child = w.findChild(QWidget, name)
            assert child.isVisible()
            assert child.mapTo(w, child.rect().bottomLeft()).y() <= w.height(), name
        w.close()
