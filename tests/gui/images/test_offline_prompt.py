"""The question a dentist meets when the connection returns with offline images here."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton

from app.store.images.images_repo import ImagesRepo
from app.store.sync.agent_repo import AgentRepo
from app.ui.images.offline_images_prompt import OfflineImagesPrompt
from tests.unit.imaging import samples


@pytest.fixture
def offline_patient(store, admin, tmp_path: Path):
    store.settings.set("server_url", "http://127.0.0.1:9")
    p = store.patients.create(admin.viewer(), {"first_name": "Jane", "last_name": "Roe",
                                               "gender": "female"}, provisional=True)
    ImagesRepo(store.db).add_files(admin.viewer(), p.id, [samples.photo(tmp_path / "a.jpg")])
    return p


def connection(window, qtbot, online: bool) -> None:
    AgentRepo(window.ctx.store.db).publish(online=online, pid=1, stopped_at=None)
    window.agent_status.refresh()
    qtbot.waitUntil(lambda: window.agent_status.status is not None
                    and window.agent_status.status.online == online)


def prompt_of(window) -> OfflineImagesPrompt | None:
    found = [d for d in window.findChildren(OfflineImagesPrompt) if d.isVisible()]
    return found[0] if found else None


def test_remind_me_later_is_not_asked_again_that_day(window, qtbot, store, offline_patient):
    connection(window, qtbot, True)
    qtbot.waitUntil(lambda: prompt_of(window) is not None)
    assert "1 offline image to match" in window.agent_status.label.text()
    prompt = prompt_of(window)
    assert "(1 patient)" in prompt.findChild(QLabel, "promptText").text()
    qtbot.mouseClick(prompt.findChild(QPushButton, "remindLater"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: prompt_of(window) is None)
    qtbot.waitUntil(lambda: store.settings.get("offline_images_remind_after")
                    == dt.date.today().isoformat())
    # The link drops and returns the same day: no question.
    connection(window, qtbot, False)
    connection(window, qtbot, True)
    window.ctx.ops.wait_idle()
    qtbot.wait(300)
    assert prompt_of(window) is None
    # The wizard stays in the Images menu all the same.
    window.sync_offline_images()
    qtbot.waitUntil(lambda: window.offline_wizard is not None
                    and window.offline_wizard.patient_list.count() == 1)
    window.offline_wizard.reject()
    qtbot.waitUntil(lambda: window.offline_wizard is None)


def test_synchronize_now_opens_the_wizard_and_acquiring_online_asks_again(
        window, qtbot, offline_patient):
    connection(window, qtbot, True)
    qtbot.waitUntil(lambda: prompt_of(window) is not None)
    qtbot.mouseClick(prompt_of(window).findChild(QPushButton, "synchronizeNow"),
                     Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.offline_wizard is not None)
    wizard = window.offline_wizard
    qtbot.waitUntil(lambda: wizard.patient_list.count() == 1)
    assert wizard.patient_list.item(0).text().startswith("Jane Roe")
    wizard.reject()
    qtbot.waitUntil(lambda: window.offline_wizard is None)
    # "Acquire images" on a patient while online: the offline images are recalled.
    window.open_patient(offline_patient.id)
    page = window.patient_page
    qtbot.waitUntil(lambda: page.patient is not None)
    page.tabs.setCurrentWidget(page.images_tab)
    qtbot.mouseClick(page.images_tab.acquire, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: prompt_of(window) is not None)


def test_no_question_without_offline_images(window, qtbot, store):
    store.settings.set("server_url", "http://127.0.0.1:9")
    connection(window, qtbot, True)
    window.ctx.ops.wait_idle()
    qtbot.wait(300)
    assert prompt_of(window) is None


def test_wizard_checks_the_fee_and_says_why_nothing_is_sent(window, qtbot, store,
                                                            offline_patient):
    window.sync_offline_images()
    qtbot.waitUntil(lambda: window.offline_wizard is not None)
    wizard = window.offline_wizard
    qtbot.waitUntil(lambda: wizard.patient_list.count() == 1)
    qtbot.keyClick(wizard.patient_list, Qt.Key.Key_Return)  # Enter: Next
    qtbot.waitUntil(lambda: wizard.stack.currentIndex() == 1)
    match = wizard.match_step
    qtbot.waitUntil(lambda: "No patient with the same" in match.match_label.text())
    wizard.match_step.new_box.setChecked(True)
    qtbot.mouseClick(wizard.next_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: wizard.options_step.procedure_list.count() == 1)
    qtbot.keyClicks(wizard.options_step.fee, "12,5x")
    assert wizard.options_step.fee_error.isVisible() and not wizard.next_button.isEnabled()
    wizard.options_step.fee.clear()
    qtbot.keyClicks(wizard.options_step.fee, "12,5")
    assert not wizard.options_step.fee_error.isVisible() and wizard.next_button.isEnabled()
    assert wizard.options_step.options[0].fee == Decimal("12.50")
    # No sync service runs in this test: the wizard says so instead of spinning.
    AgentRepo(store.db).publish(stopped_at="2026-01-01T00:00:00+00:00")
    qtbot.mouseClick(wizard.next_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "sync service is not running" in
                    wizard.sync_step.sync_rows.findChild(QLabel, "procState0").text(),
                    timeout=10000)
    wizard.reject()
    with store.db.read() as s:
        from app.store.models import Patient, Visit
        assert not s.get(Patient, offline_patient.id).provisional  # confirmed as new
        [record] = [v for v in s.query(Visit).all() if v.patient_id == offline_patient.id]
        assert (record.charge, record.name) == ("12.50", "Offline images")
