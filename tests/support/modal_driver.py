"""Drive an app whose dialogs run nested event loops (`exec()`), the way a user would.

A test hands a list of steps to `ModalDriver`; a timer on the UI thread calls the first
step until it returns True (it found its window and acted), then the next. Each step
looks at what is on screen (`QApplication.activeModalWidget()`, top-level windows) and
clicks or types into it. Steps left over when the app ends are what never showed up.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox, QWidget

from app.ui.shell.main_window import MainWindow

Step = Callable[[], bool]
W = TypeVar("W", bound=QWidget)


class ModalDriver:
    def __init__(self, steps: list[Step], give_up_s: float = 120.0) -> None:
        self.steps = list(steps)
        self.done: list[str] = []
        self.gave_up = False
        self.stopped = False
        QTimer.singleShot(25, self._tick)
        self.deadline = QTimer()
        self.deadline.setSingleShot(True)
        self.deadline.timeout.connect(self._give_up)
        self.deadline.start(int(give_up_s * 1000))

    def _tick(self) -> None:
        if self.stopped or not self.steps:
            return
        # The next tick is armed first, and the step taken off the list while it runs: a
        # step may open a dialog whose nested event loop returns only after later steps
        # (run from that loop) have closed it.
        QTimer.singleShot(25, self._tick)
        step = self.steps.pop(0)
        if step():
            self.done.append(step.__name__)
        else:
            self.steps.insert(0, step)

    def _give_up(self) -> None:
        """The app hangs (a step never found its window): end every event loop."""
        self.gave_up = True
        self.stop()
        for w in QApplication.topLevelWidgets():
            if isinstance(w, QDialog) and w.isVisible():
                w.reject()
        QApplication.exit(99)

    def stop(self) -> None:
        self.stopped = True
        self.deadline.stop()

    @property
    def left(self) -> list[str]:
        return [s.__name__ for s in self.steps]


def modal(kind: type[W]) -> W | None:
    w = QApplication.activeModalWidget()
    return w if isinstance(w, kind) and w.isVisible() else None


def message_box(title: str) -> QMessageBox | None:
    box = modal(QMessageBox)
    return box if box is not None and box.windowTitle() == title else None


def main_window() -> MainWindow | None:
    for w in QApplication.topLevelWidgets():
        if isinstance(w, MainWindow) and w.isVisible():
            return w
    return None


def keep_the_recovery_code(codes: list[str] | None = None) -> Step:
    """The step after a new practice's administrator is created: the recovery code is
    shown once; it is noted (in `codes`) and the dialog closed as a user would."""
    from app.ui.shell.recovery_code_dialog import RecoveryCodeDialog

    def keep_the_recovery_code() -> bool:
        dialog = modal(RecoveryCodeDialog)
        if dialog is None:
            return False
        if codes is not None:
            codes.append(dialog.code_label.text())
        dialog.done_button.click()
        return True

    return keep_the_recovery_code
