"""Save buttons answer the keys desktop users expect: Alt+S and Ctrl+S.

Qt's standard Save button has no mnemonic, so Alt+S fell through to the focused line
edit, which took it as a typed "s" (a date of birth read "1984-03-12s").
"""

from __future__ import annotations

from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QDialogButtonBox


def with_save_keys(buttons: QDialogButtonBox) -> QDialogButtonBox:
    save = buttons.button(QDialogButtonBox.StandardButton.Save)
    if save is not None:
        save.setText("&Save")
        # A window shortcut on the box: it works wherever the focus is in the dialog.
        QShortcut(QKeySequence.StandardKey.Save, buttons, save.click)
    return buttons
