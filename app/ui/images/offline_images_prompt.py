"""The question asked when the connection returns (or an acquisition starts online)
and images acquired offline wait on this computer: Synchronize Now or Remind Me Later
(not asked again that day on this PC)."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.ui.shell.context import AppContext
from app.ui.shell.ops import WriteOp


class OfflineImagesPrompt(QDialog):
    """Asked when the connection returns and offline images wait on this computer."""

    def __init__(self, ctx: AppContext, patients: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("offlineImagesPrompt")
        self.setWindowTitle("Sync Offline Procedures")
        self.ctx = ctx
        self.wants_sync = False
        who = f"{patients} patient{'s' if patients != 1 else ''}"
        text = QLabel(
            f"This computer holds images acquired while offline ({who}). Synchronize "
            "them with the practice's records now?", objectName="promptText")
        text.setWordWrap(True)
        now = QPushButton("Synchronize Now", objectName="synchronizeNow")
        now.setDefault(True)
        now.clicked.connect(self._now)
        later = QPushButton("Remind Me Later", objectName="remindLater")
        later.setToolTip("Not asked again today on this computer")
        later.clicked.connect(self._later)
        bar = QHBoxLayout()
        bar.addStretch(1)
        bar.addWidget(later)
        bar.addWidget(now)
        v = QVBoxLayout(self)
        v.addWidget(text)
        v.addLayout(bar)

    def _now(self) -> None:
        self.wants_sync = True
        self.accept()

    def _later(self) -> None:
        repo = self.ctx.store.offline_images
        WriteOp(repo.remind_later).run(self.ctx.ops)
        self.reject()
