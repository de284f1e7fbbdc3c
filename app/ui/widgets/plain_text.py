"""Text that comes from outside this PC is shown as text, never as markup.

Patient details typed on other PCs, notes sent from the web portal and the server's
messages reach labels, message boxes and tooltips. Qt guesses whether a string is rich
text and would render a note of ``<img src="file:///...">`` or a fake coloured table.
No label of the program is meant to hold markup, so every QLabel (message boxes' text
included) is switched to plain text as it is first polished, and tooltips with such
text go through `tooltip`, which escapes it.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QApplication, QLabel

_POLISH = QEvent.Type.Polish


def tooltip(text: str) -> str:
    """A tooltip that shows `text` literally, line breaks kept."""
    return ('<p style="white-space:pre-wrap">' + html.escape(text) + "</p>") if text else ""


class _PlainLabels(QObject):
    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() == _POLISH and isinstance(obj, QLabel) \
                and obj.textFormat() == Qt.TextFormat.AutoText:
            obj.setTextFormat(Qt.TextFormat.PlainText)
        return False


_filter: _PlainLabels | None = None


def install() -> None:
    """Make every label of the application plain text (once per application)."""
    global _filter
    app = QApplication.instance()
    if app is None or (_filter is not None and _filter.parent() is app):
        return
    _filter = _PlainLabels(app)
    app.installEventFilter(_filter)
