"""Practice ▸ Institution ▸ Data migration against the real cloud process on loopback:
the clinic's administrator sends its data to another clinic with that clinic's
verification code (a wrong one is refused in words) and watches the status reach
Succeeded; then he generates a code to receive data, which the other clinic uses to
send it back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from app.core.ids import new_id
from app.ui.institution.institution_window import InstitutionWindow
from app.ui.institution.migration_dialog import ReceiveDialog, SendDialog
from cloud import security
from sync_agent import connection
from tests.gui.institution.test_institution_window import _connected_with_me_synced
from tests.integration.cloud.conftest import Server, start_server, stop_server
from tests.unit.cloud.support import (
    PC,
    patient,
    read_password,
    register_pc,
    register_practice,
)

WAIT = 30_000


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[Server]:
    srv = start_server(tmp_path / "cloud", {"DATABASE_URL": "",
                                            "CHAIRSIDE_CLOUD_JOB_POLL_S": "0.05"})
    yield srv
    stop_server(srv)


def _other_clinic(http: httpx.Client, cloud: Server) -> tuple[PC, str, str, str]:
    """Another practice on the cloud with its administrator synced: its PC, the
    administrator's id, the clinic's institution code and its name."""
    pc = register_pc(http, *register_practice(http, cloud.mail_dir, "other@example.com"))
    admin = new_id()
    pc.push(pc.mutation("user", admin, {
        "username": "boss", "display_name": "Boss", "role": "admin", "active": True,
        "password_hash": security.hash_password("correct horse battery")}))
    shown = http.get("/api/v1/institution", params={"user_id": admin,
                                                    "practice_name": "Harbour Dental"},
                     headers=pc.headers)
    assert shown.status_code == 200, shown.text
    return pc, admin, shown.json()["code"], shown.json()["name"]


def _patients(pc: PC) -> dict[str, bool]:
    """First names of the patients the PC pulls, and whether each is deleted."""
    out: dict[str, dict[str, Any]] = {}
    for c in pc.pull_all():
        if c["entity"] == "patient":
            out.setdefault(c["entity_id"], {}).update(
                {k: f["value"] for k, f in c["fields"].items()})
    return {f.get("first_name", ""): bool(f.get("deleted")) for f in out.values()}


def test_send_to_another_clinic_then_receive_it_back(ctx: Any, qtbot: Any, cloud: Server,
                                                      secrets_store: Any) -> None:
    ctx.store.settings.set("practice_name", "Smile Dental Clinic")
    _connected_with_me_synced(ctx, cloud, secrets_store)
    http = httpx.Client(base_url=cloud.url, timeout=30)
    other, other_admin, other_code, other_name = _other_clinic(http, cloud)
    code = http.post("/api/v1/institution/migration/code", json={"user_id": other_admin},
                     headers=other.headers).json()["code"]

    w = InstitutionWindow(ctx, secrets=secrets_store)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.migration_box.isVisible(), timeout=WAIT)
    sibling = _sibling(http, cloud, w)
    sibling.push(patient(sibling, first_name="Nadia", last_name="Khoury"))

    qtbot.mouseClick(w.send_button, Qt.MouseButton.LeftButton)
    send = w.migration_dialog
    assert isinstance(send, SendDialog)
    qtbot.waitUntil(lambda: "No data migration" in send.message.text(), timeout=WAIT)
    assert not send.start_button.isEnabled()  # nothing typed yet
    qtbot.keyClicks(send.receiver, other_code)
    qtbot.keyClicks(send.code, "ABCDE-FGHJK")
    qtbot.mouseClick(send.start_button, Qt.MouseButton.LeftButton)
    _answer(qtbot, send, QMessageBox.StandardButton.No)  # asked first; nothing sent
    assert "No data migration" in send.message.text()
    qtbot.mouseClick(send.start_button, Qt.MouseButton.LeftButton)
    _answer(qtbot, send, QMessageBox.StandardButton.Yes)
    qtbot.waitUntil(lambda: "not right" in send.message.text(), timeout=WAIT)
    assert send.table.rowCount() == 0
    send.code.clear()
    qtbot.keyClicks(send.code, code)
    qtbot.mouseClick(send.start_button, Qt.MouseButton.LeftButton)
    _answer(qtbot, send, QMessageBox.StandardButton.Yes)
    qtbot.waitUntil(lambda: send.table.rowCount() == 1 and send.table.item(0, 2).text()
                    .startswith("Succeeded"), timeout=WAIT)
    assert send.table.item(0, 2).text() == "Succeeded — 1 record and 0 images moved"
    assert send.table.item(0, 1).text() == f"{other_name} ({other_code})"
    assert "Succeeded" in send.message.text() and send.code.text() == ""
    assert _patients(other) == {"Nadia": False}
    assert _patients(sibling) == {"Nadia": True}  # gone from this clinic's PCs
    send.close()

    qtbot.mouseClick(w.receive_button, Qt.MouseButton.LeftButton)
    receive = w.migration_dialog
    assert isinstance(receive, ReceiveDialog)
    assert receive.code.text() == ""
    qtbot.mouseClick(receive.generate, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(receive.code.text()) == 11, timeout=WAIT)
    assert "not shown again" in receive.message.text()
    back = http.post("/api/v1/institution/migration", headers=other.headers, json={
        "user_id": other_admin, "receiver": w.code.text(), "code": receive.code.text()})
    assert back.status_code == 200, back.text
    for _ in range(300):
        [latest] = [m for m in http.get(
            "/api/v1/institution/migration", params={"user_id": other_admin},
            headers=other.headers).json()["migrations"] if m["direction"] == "sent"]
        if latest["status"] not in ("queued", "running"):
            break
        qtbot.wait(100)
    assert latest["status_words"] == "Succeeded"
    assert _patients(sibling) == {"Nadia": False}  # back, on this clinic's PCs
    http.close()


def _answer(qtbot: Any, send: SendDialog, button: QMessageBox.StandardButton) -> None:
    qtbot.waitUntil(lambda: send.confirm is not None and send.confirm.isVisible())
    assert send.confirm is not None and "moves to" in send.confirm.text()
    qtbot.mouseClick(send.confirm.button(button), Qt.MouseButton.LeftButton)
    send.confirm = None


def _sibling(http: httpx.Client, cloud: Server, w: InstitutionWindow) -> PC:
    """Another device of this PC's practice, to put a patient on the cloud and read
    what this practice's PCs pull."""
    conn = connection.load(w.ctx.store.db, w.migrations.secrets)
    assert conn is not None
    return register_pc(http, conn.installation_id,
                       read_password(cloud.mail_dir, conn.installation_id))
