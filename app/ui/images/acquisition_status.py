"""The status bar's word on acquisition: whose images this PC is taking, and how many
files wait in the unassigned inbox. Clicking it opens the inbox."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QWidget

from app.core.text import counted
from app.store.images.acquisition_repo import ActiveAcquisition
from app.ui.shell.context import AppContext
from app.ui.shell.ops import ReadOp


class AcquisitionStatus(QLabel):
    clicked = Signal()

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__("", parent)
        self.setObjectName("acquisitionStatus")
        self.ctx = ctx
        self.repo = ctx.store.acquisition
        self.refresh()

    def refresh(self, *_: Any) -> None:
        def read() -> tuple[ActiveAcquisition | None, dict[str, int]]:
            return self.repo.active(), self.repo.counts()

        ReadOp(read).success(self._show).run(self.ctx.ops)

    def _show(self, result: tuple[ActiveAcquisition | None, dict[str, int]]) -> None:
        active, counts = result
        parts = []
        if active is not None:
            parts.append(f"Acquiring for {active.display_name}")
        waiting = counts["unassigned"] + counts["quarantined"]
        if waiting:
            parts.append(f"{counted(waiting, 'image')} to assign")
        if counts["failed"]:
            parts.append(f"{counts['failed']} failed in the acquisition folder")
        self.setText(" · ".join(parts))
        self.setVisible(bool(parts))

    def mousePressEvent(self, _event: Any) -> None:
        self.clicked.emit()
