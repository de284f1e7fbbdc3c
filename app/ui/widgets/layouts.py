"""Emptying a layout that is filled again with each change (buttons, previews)."""

from __future__ import annotations

from PySide6.QtWidgets import QLayout


def empty_layout(layout: QLayout, keep: int = 0) -> None:
    """Take out every item but the last `keep` (a closing stretch, say); their widgets
    are deleted once control is back in the event loop, as a signal may be under way."""
    while layout.count() > keep:
        item = layout.takeAt(0)
        widget = item.widget() if item is not None else None
        if widget is not None:
            widget.deleteLater()
