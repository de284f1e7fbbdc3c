"""Windows sized to the screen they open on: a 1280×720 display shows them whole."""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QWidget

FRAME_ALLOWANCE = 40  # the window manager's title bar and borders


def fitted(wanted: QSize, available: QSize | None) -> QSize:
    """`wanted`, no larger than the `available` room left for the window's frame."""
    if available is None:
        return wanted
    return wanted.boundedTo(available - QSize(0, FRAME_ALLOWANCE))


def resize_to_fit(window: QWidget, wanted: QSize) -> None:
    screen = window.screen()
    window.resize(fitted(wanted, screen.availableGeometry().size() if screen else None))
