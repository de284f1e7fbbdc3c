"""Practice ▸ Institution against the real cloud process on loopback: a lab asks to
connect to the clinic through the portal, the clinic's administrator approves it in the
window; with automatic review switched on, the next lab's request is connected without
anyone answering it. A refused request stays refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PySide6.QtCore import Qt
from sqlalchemy import select

from app.store.models import User
from app.ui.institution.institution_window import InstitutionWindow
from sync_agent.server_service import ServerAdmin
from tests.integration.cloud.conftest import Server, start_server, stop_server
from tests.support.institutions import lab_requests, make_lab, signed_in_lab
from tests.unit.cloud.support import read_password, register_pc

WAIT = 30_000


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[Server]:
    srv = start_server(tmp_path / "cloud", {"DATABASE_URL": ""})
    yield srv
    stop_server(srv)


def _connected_with_me_synced(ctx: Any, cloud: Server, secrets_store: Any) -> None:
    """This PC connected to the cloud, and the signed-in administrator on the server as
    the agent syncs him."""
    admin = ServerAdmin(ctx.store.db, secrets_store)
    iid = admin.register(cloud.url, "clinic@example.com")
    admin.connect(read_password(cloud.mail_dir, iid))
    with ctx.store.db.read() as s:
        me = s.scalar(select(User).where(User.id == ctx.viewer.user_id))
        assert me is not None
        synced = {"username": me.username, "display_name": me.display_name, "role": me.role,
                  "active": True, "password_hash": me.password_hash}
    with httpx.Client(base_url=cloud.url, timeout=30) as http:
        other = register_pc(http, iid, read_password(cloud.mail_dir, iid))
        other.push(other.mutation("user", ctx.viewer.user_id, synced))


def _states(w: InstitutionWindow) -> dict[str, str]:
    return {w.table.item(r, 0).text(): w.table.item(r, 2).text()
            for r in range(w.table.rowCount())}


def test_a_lab_requests_and_the_clinic_admin_approves(ctx: Any, qtbot: Any, cloud: Server,
                                                      secrets_store: Any) -> None:
    ctx.store.settings.set("practice_name", "Smile Dental Clinic")
    _connected_with_me_synced(ctx, cloud, secrets_store)
    db_url = f"sqlite:///{cloud.data / 'cloud.sqlite3'}"
    w = InstitutionWindow(ctx, secrets=secrets_store)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.requests_box.isVisible(), timeout=WAIT)
    assert w.code.text().startswith("C") and w.table.rowCount() == 0
    assert w.name.text() == "Smile Dental Clinic"  # the clinic is named after the practice
    assert "No request is waiting" in w.message.text()
    assert not w.auto_review.isChecked()

    said = lab_requests(cloud.url, make_lab(db_url, "Bright Smile Lab"), w.code.text())
    assert "was sent" in said
    lab_requests(cloud.url, make_lab(db_url, "Slow Lab"), w.name.text())
    w.refresh()
    qtbot.waitUntil(lambda: w.table.rowCount() == 2, timeout=WAIT)
    assert "2 requests are waiting" in w.message.text()
    assert _states(w) == {"Bright Smile Lab": "Waiting for your answer",
                          "Slow Lab": "Waiting for your answer"}
    assert not w.approve_button.isEnabled()  # nothing chosen yet

    w.select_lab("Bright Smile Lab")
    assert w.approve_button.isEnabled()
    qtbot.mouseClick(w.approve_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "is connected" in w.message.text(), timeout=WAIT)
    assert _states(w)["Bright Smile Lab"] == "Connected"
    w.select_lab("Slow Lab")
    qtbot.mouseClick(w.refuse_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "was refused" in w.message.text(), timeout=WAIT)
    assert _states(w)["Slow Lab"] == "Refused"
    w.select_lab("Slow Lab")
    assert not w.approve_button.isEnabled()  # answered once and for all

    # Institution settings: automatic review for connection creation, On, Submit
    w.auto_review.setChecked(True)
    qtbot.mouseClick(w.submit, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Automatic review is on" in w.message.text(), timeout=WAIT)
    said = lab_requests(cloud.url, make_lab(db_url, "Crown Works"), w.code.text())
    assert said == "The clinic approved the connection."
    w.refresh()
    qtbot.waitUntil(lambda: w.table.rowCount() == 3, timeout=WAIT)
    assert _states(w)["Crown Works"] == "Connected (automatic review)"
    assert w.auto_review.isChecked()
    assert "No request is waiting" in w.message.text()


def test_the_clinic_admin_sets_its_country_and_labs_see_it(ctx: Any, qtbot: Any,
                                                           cloud: Server,
                                                           secrets_store: Any) -> None:
    ctx.store.settings.set("practice_name", "Clinica Lisboa")
    ctx.store.settings.set("country", "PT")  # the practice says where it is
    _connected_with_me_synced(ctx, cloud, secrets_store)
    lab = make_lab(f"sqlite:///{cloud.data / 'cloud.sqlite3'}", "Iberia Lab")
    w = InstitutionWindow(ctx, secrets=secrets_store)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.requests_box.isVisible(), timeout=WAIT)
    assert w.region.text() == "PT"  # not on the server yet: offered from the practice's
    assert "was sent" in lab_requests(cloud.url, lab, w.code.text())
    browser = signed_in_lab(cloud.url, lab)
    assert '<td class="region">Not set</td>' in browser.get("/lab/connections").text

    w.region.clear()
    qtbot.keyClicks(w.region, "es")
    qtbot.mouseClick(w.submit, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Automatic review is off" in w.message.text(), timeout=WAIT)
    assert '<td class="region">ES</td>' in browser.get("/lab/connections").text
    browser.close()
    assert ctx.store.settings.get("country") == "ES"
    w.close()
    again = InstitutionWindow(ctx, secrets=secrets_store)
    qtbot.addWidget(again)
    qtbot.waitUntil(lambda: again.view is not None, timeout=WAIT)
    assert again.region.text() == "ES" and again.view.region == "ES"
