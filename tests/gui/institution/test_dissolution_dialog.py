"""Institution settings ▸ Dissolution of institution against the real cloud process: the
notice agreed to, the practice's administrator account chosen, the code mailed to it; a
wrong code is refused and the right one confirms; the window then says when the clinic
will be dissolved, refuses its settings with the reason, and Revoke dissolution brings
it back. A PC whose clinic was dissolved says why its data went away."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMessageBox

from app.store.sync import purge_repo
from app.ui.institution.dissolution_dialog import CODE_PAGE, CONFIRM_PAGE
from app.ui.institution.institution_window import InstitutionWindow
from tests.gui.institution.test_institution_window import (  # noqa: F401 - its fixture
    _connected_with_me_synced,
    cloud,
)
from tests.integration.agent.test_dissolution import mailed_code
from tests.integration.cloud.conftest import Server

WAIT = 30_000
LEFT = Qt.MouseButton.LeftButton


def test_the_wizard_dissolves_and_revoke_undoes_it(ctx: Any, qtbot: Any, cloud: Server,  # noqa: F811
                                                   secrets_store: Any) -> None:
    ctx.store.settings.set("practice_name", "Smile Dental Clinic")
    _connected_with_me_synced(ctx, cloud, secrets_store)
    w = InstitutionWindow(ctx, secrets=secrets_store)
    qtbot.addWidget(w)
    w.show()
    box = w.dissolution_box
    qtbot.waitUntil(lambda: box.isVisible(), timeout=WAIT)
    assert box.dissolve_button.isVisible() and box.dissolve_button.isEnabled()
    assert not box.revoke_button.isVisible()

    qtbot.mouseClick(box.dissolve_button, LEFT)
    wizard = box.wizard
    assert wizard is not None
    qtbot.waitUntil(wizard.isVisible)
    notice = wizard.findChild(QLabel, "notice")
    assert "Send this clinic's data to another clinic" in notice.text()
    assert not wizard.continue_button.isEnabled()  # the notice is agreed to first
    wizard.agree.setChecked(True)
    qtbot.mouseClick(wizard.continue_button, LEFT)
    qtbot.waitUntil(lambda: wizard.account.count() == 1, timeout=WAIT)
    assert wizard.account.itemText(0).startswith("Practice administrator — c***@")
    assert not wizard.next_button.isEnabled()
    qtbot.mouseClick(wizard.send_button, LEFT)
    qtbot.waitUntil(lambda: "A code was sent to c***@example.com" in wizard.message.text(),
                    timeout=WAIT)
    code = mailed_code(cloud.mail_dir)

    qtbot.keyClicks(wizard.code, "000000" if code != "000000" else "111111")
    qtbot.mouseClick(wizard.next_button, LEFT)
    assert wizard.pages.currentIndex() == CONFIRM_PAGE
    qtbot.mouseClick(wizard.confirm_button, LEFT)
    qtbot.waitUntil(lambda: "The code is not right" in wizard.message.text(), timeout=WAIT)
    assert wizard.pages.currentIndex() == CODE_PAGE and wizard.isVisible()
    assert box.dissolve_button.isVisible()  # nothing happened

    wizard.code.clear()
    qtbot.keyClicks(wizard.code, code)
    qtbot.mouseClick(wizard.next_button, LEFT)
    qtbot.mouseClick(wizard.confirm_button, LEFT)
    qtbot.waitUntil(lambda: not wizard.isVisible(), timeout=WAIT)
    assert "will be dissolved on" in w.message.text()
    assert box.state.text().startswith("This institution will be dissolved on 20")
    assert box.revoke_button.isVisible() and not box.dissolve_button.isVisible()

    # Meanwhile the clinic's settings are refused, with the reason.
    w.auto_review.setChecked(True)
    qtbot.mouseClick(w.submit, LEFT)
    qtbot.waitUntil(lambda: "is being dissolved" in w.message.text(), timeout=WAIT)

    qtbot.mouseClick(box.revoke_button, LEFT)
    qtbot.waitUntil(lambda: "dissolution was revoked" in w.message.text(), timeout=WAIT)
    assert box.dissolve_button.isVisible() and not box.revoke_button.isVisible()
    assert not w.auto_review.isChecked()  # the refused change did not happen
    w.auto_review.setChecked(True)
    qtbot.mouseClick(w.submit, LEFT)
    qtbot.waitUntil(lambda: "Automatic review is on" in w.message.text(), timeout=WAIT)


def test_the_main_window_says_why_the_data_went_away(ctx: Any, qtbot: Any) -> None:
    from app.ui.shell.main_window import MainWindow

    purge_repo.purge_local(ctx.store.db, {"seq": 7, "fields": {"reason": {
        "value": "The clinic Smile was dissolved on 2026-12-03 22:40 UTC at the request of "
                 "user:boss."}}})
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.findChild(QMessageBox, "dissolvedNotice") is not None)
    box = window.findChild(QMessageBox, "dissolvedNotice")
    assert "was dissolved on 2026-12-03" in box.text() and "still sign in" in box.text()
    box.button(QMessageBox.StandardButton.Ok).click()
    assert purge_repo.notice(ctx.store.db) == ""  # told once
    window.close()
