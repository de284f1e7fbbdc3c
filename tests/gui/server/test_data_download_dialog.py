"""Tools ▸ Data download against the real cloud process on loopback: the missing
permission, granted by the administrator in the Server window's groups, then scheduling
with the code the server mails, and after the night the ZIP saved to disk, which 7-Zip
opens with the user's own desktop password."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.store.models import User
from app.ui.server.data_download_dialog import CodeDialog, DataDownloadDialog, SaveDialog
from app.ui.server.groups_dialog import GroupsDialog
from app.ui.server.server_window import ServerWindow
from cloud.config import Settings
from cloud.db import make_engine
from cloud.export import service
from cloud.export.models import DataDownload
from sync_agent.server_service import ServerAdmin
from tests.integration.cloud.conftest import Server, start_server, stop_server
from tests.unit.cloud.support import read_password, register_pc

WAIT = 30_000
PASSWORD = "correct horse"  # the signed-in admin's desktop password (tests/conftest.py)


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[Server]:
    srv = start_server(tmp_path / "cloud", {"DATABASE_URL": ""})
    yield srv
    stop_server(srv)


def _mailed_code(mail_dir: Path) -> str:
    for path in sorted(mail_dir.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns,
                       reverse=True):
        found = re.search(r"^\s+(\d{6})\s*$", path.read_text(), re.M)
        if found and "data download" in path.read_text():
            return found.group(1)
    raise AssertionError("no code was mailed")


def _night(server: Server) -> None:
    url = f"sqlite:///{server.data / 'cloud.sqlite3'}"
    engine = make_engine(url)

    def maker() -> Session:
        return Session(engine, expire_on_commit=False)

    with maker() as session:
        ids = list(session.scalars(select(DataDownload.id)))
    for download_id in ids:
        service.build(maker, Settings(data_dir=server.data, database_url=url),  # type: ignore[arg-type]
                      download_id)
    engine.dispose()


def test_schedule_and_save_a_data_download(ctx: Any, qtbot: Any, cloud: Server,
                                           secrets_store: Any, tmp_path: Path) -> None:
    admin = ServerAdmin(ctx.store.db, secrets_store)
    iid = admin.register(cloud.url, "clinic@example.com")
    admin.connect(read_password(cloud.mail_dir, iid))
    with ctx.store.db.read() as s:  # the user as the agent syncs him, password hash included
        me = s.scalar(select(User).where(User.id == ctx.viewer.user_id))
        assert me is not None
        synced = {"username": me.username, "display_name": me.display_name, "role": me.role,
                  "active": True, "password_hash": me.password_hash}
    http = httpx.Client(base_url=cloud.url, timeout=30)
    other = register_pc(http, iid, read_password(cloud.mail_dir, iid))
    other.push(other.mutation("user", ctx.viewer.user_id, synced))

    w = DataDownloadDialog(ctx, secrets=secrets_store)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: "Data download — full control" in w.message.text(), timeout=WAIT)
    assert not w.schedule_box.isVisible()

    # The administrator grants it: Sync ▸ Server… ▸ Groups and permissions…
    server = ServerWindow(ctx, secrets=secrets_store)
    qtbot.addWidget(server)
    server.show()
    qtbot.waitUntil(lambda: server.accounts_box.isVisible(), timeout=WAIT)
    qtbot.mouseClick(server.findChild(QPushButton, "groups"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: isinstance(server.dialog, GroupsDialog), timeout=WAIT)
    groups = server.dialog
    assert isinstance(groups, GroupsDialog)
    me_row = groups.members.index(f"user:{ctx.viewer.user_id}")
    groups.permission.setChecked(True)
    groups.check(me_row, "")
    groups.accept()
    assert "email address" in groups.error.text() and groups.isVisible()
    groups.check(me_row, "dr.admin@example.com")
    groups.accept()
    qtbot.waitUntil(lambda: "was saved" in server.message.text(), timeout=WAIT)
    w.refresh()
    qtbot.waitUntil(lambda: w.schedule_box.isVisible(), timeout=WAIT)
    assert "AES-256" in w.about.text()
    assert w.day.date() == w.day.minimumDate()  # tomorrow, the earliest

    qtbot.keyClicks(w.password, PASSWORD)
    qtbot.mouseClick(w.schedule_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: isinstance(w.dialog, CodeDialog), timeout=WAIT)
    assert w.password.text() == ""
    dialog = w.dialog
    assert isinstance(dialog, CodeDialog)
    code = _mailed_code(cloud.mail_dir)
    wrong = f"{(int(code) + 1) % 1000000:06d}"
    qtbot.keyClicks(dialog.code, wrong)
    qtbot.mouseClick(dialog.continue_button, Qt.MouseButton.LeftButton)
    # Refused: the window says so (not "Checking the code…") and asks again.
    qtbot.waitUntil(lambda: w.dialog is not dialog and isinstance(w.dialog, CodeDialog),
                    timeout=WAIT)
    assert w.message.text().startswith("The code is not right")
    dialog = w.dialog
    assert isinstance(dialog, CodeDialog)
    qtbot.keyClicks(dialog.code, code[:5])
    assert not dialog.continue_button.isEnabled()  # five digits spend no try
    qtbot.keyClicks(dialog.code, code[5:])
    assert dialog.continue_button.isEnabled()
    qtbot.mouseClick(dialog.continue_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "is scheduled" in w.message.text(), timeout=WAIT)
    assert w.table.item(0, 1).text() == "Scheduled"

    _night(cloud)
    w.refresh()
    qtbot.waitUntil(lambda: w.table.item(0, 1) is not None
                    and w.table.item(0, 1).text() == "Ready", timeout=WAIT)
    qtbot.mouseClick(w.save_button, Qt.MouseButton.LeftButton)
    save = w.dialog
    assert isinstance(save, SaveDialog)
    dest = tmp_path / "saved" / "practice-data.zip"
    dest.parent.mkdir()
    save.path.setText(str(dest))
    qtbot.keyClicks(save.password, PASSWORD + "x")
    save.accept()
    qtbot.waitUntil(lambda: "not your password" in w.message.text(), timeout=WAIT)
    assert not dest.exists()
    qtbot.mouseClick(w.save_button, Qt.MouseButton.LeftButton)
    save = w.dialog
    assert isinstance(save, SaveDialog)
    save.path.setText(str(dest))
    qtbot.keyClicks(save.password, PASSWORD)
    save.accept()
    qtbot.waitUntil(lambda: "Saved to" in w.message.text(), timeout=WAIT)
    http.close()
    seven = shutil.which("7z")
    assert seven, "7z (p7zip-full) is installed by scripts/setup.sh"
    opened = subprocess.run([seven, "x", "-y", f"-p{PASSWORD}", f"-o{tmp_path / 'x'}",
                             str(dest)], capture_output=True, text=True)
    assert opened.returncode == 0, opened.stdout
    assert (tmp_path / "x" / "README.txt").exists()

