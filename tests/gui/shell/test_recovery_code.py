"""The admin's Practice ▸ New recovery code…: asked first, then shown once; the code
printed before stops working."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QMessageBox

from app.store import recovery_code
from app.store.recovery_code import WrongRecoveryCodeError
from app.ui.shell.recovery_code_dialog import RecoveryCodeDialog


def _shown_code(qtbot) -> RecoveryCodeDialog:
    found: list[RecoveryCodeDialog] = []

    def shown() -> bool:
        found[:] = [w for w in QApplication.topLevelWidgets()
                    if isinstance(w, RecoveryCodeDialog) and w.isVisible()]
        return bool(found)

    qtbot.waitUntil(shown, timeout=10000)
    return found[0]


def test_an_admin_makes_a_new_code_and_the_old_one_stops_working(
        window, ctx, qtbot, monkeypatch, secrets_store) -> None:
    old = recovery_code.create_for(ctx.store.db, secrets_store)
    asked: list[str] = []

    def answer(parent, title, text, *args, **kw):  # the confirmation, answered Yes
        asked.append(text)
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", answer)
    [action] = [a for a in window.findChildren(QAction) if a.text() == "New &recovery code…"]
    action.trigger()
    dialog = _shown_code(qtbot)
    assert asked and "no longer work" in asked[0]
    new = dialog.code_label.text()
    assert new != old and len(recovery_code.normalise(new)) == 25
    assert new in dialog.document().toPlainText()  # what is printed holds the code
    dialog.done_button.click()
    with pytest.raises(WrongRecoveryCodeError):
        recovery_code.unseal(ctx.store.db.path, old)
    assert recovery_code.unseal(ctx.store.db.path, new)[1] == ctx.store.db.image_key
