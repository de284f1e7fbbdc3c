"""The sync agent in the status bar: what it is doing, and a button to start it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from app.core.agent_requests import RequestKind
from app.store.sync.agent_repo import AgentStatus
from app.store.sync.upload_list_repo import QueueCounts
from app.ui.shell.context import AppContext
from app.ui.shell.ops import ReadOp, WriteOp


def agent_command(db_path: Path) -> list[str]:
    """How to start the agent: the bundled executable, or this Python's module."""
    if getattr(sys, "frozen", False):
        exe = Path(sys.executable).with_name(
            "chairside-agent.exe" if os.name == "nt" else "chairside-agent"
        )
        return [str(exe), "--database", str(db_path)]
    return [sys.executable, "-m", "sync_agent", "--database", str(db_path)]


def start_agent(db_path: Path) -> subprocess.Popen[bytes]:
    """Start the agent detached from the app, so it keeps running when the app closes."""
    windows = os.name == "nt"
    root = Path(__file__).resolve().parents[3]
    return subprocess.Popen(
        agent_command(db_path),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=root,
        # Windows: DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP (elsewhere it must be 0);
        # elsewhere a session of its own, which Windows ignores.
        creationflags=0x00000008 | 0x00000200 if windows else 0,
        start_new_session=not windows,
    )


RESTARTING = "Restarting the sync service after the update…"


class AgentStatusWidget(QWidget):
    statusChanged = Signal(object)  # AgentStatus, after every refresh

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.repo = ctx.store.agent
        self.queue = ctx.store.upload_list
        self.status: AgentStatus | None = None
        self._stop_asked: int | None = None  # the request to an agent of another build
        self.label = QLabel("Checking the sync service…", objectName="agentStatus")
        self.start_button = QPushButton("Start sync service", objectName="startAgent")
        self.start_button.clicked.connect(self.start)
        self.start_button.hide()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.start_button)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.refresh)
        self.timer.start(3000)
        self.refresh()

    def refresh(self) -> None:
        repo, queue, viewer = self.repo, self.queue, self.ctx.viewer
        ReadOp(lambda: (repo.status(), queue.counts(viewer))).success(
            self._show).run(self.ctx.ops)

    def _show(self, found: tuple[AgentStatus, QueueCounts]) -> None:
        status, counts = found
        self.status = status
        if self._stop_asked is not None:
            self._replacing(status, self._stop_asked)
            return
        held = counts.held
        text = status.describe(counts.sentence())
        if status.running and status.current_upload and status.upload_total:
            # The agent words it: how much the server holds, the speed and the time
            # left, or that the line is too poor to move on.
            text += f" — uploading {status.current_upload}"
        elif status.running and (status.current_upload or "").startswith("Fetching "):
            # Images coming down (a PC that joined or was restored): previews first.
            text += f" — {status.current_upload}"
        if held:
            text += (f" — {held} offline image{'s' if held != 1 else ''} to match "
                     "(Images → Synchronize offline images)")
        self.label.setText(text)
        self.label.setToolTip(text)  # a long reason from the server is cut in the bar
        self.start_button.setVisible(not status.running)
        self.statusChanged.emit(status)

    def replace_other_build(self) -> None:
        """The agent running is another build's (started before an update, it keeps
        running when the app closes): asked to stop, and this build's agent starts as
        soon as it has."""
        self.label.setText(RESTARTING)
        repo = self.repo

        def asked(request_id: int) -> None:
            self._stop_asked = request_id

        WriteOp(lambda: repo.request(RequestKind.STOP)).success(asked).run(self.ctx.ops)

    def _replacing(self, status: AgentStatus, asked: int) -> None:
        if status.running:
            self.label.setText(RESTARTING)
            return
        repo = self.repo
        self._stop_asked = None
        # Had it died instead, its stop must not stop the new agent.
        WriteOp(lambda: repo.withdraw(asked)).success(lambda _: self.start()).run(self.ctx.ops)

    def start(self) -> None:
        start_agent(self.ctx.store.db.path)
        self.label.setText("Starting the sync service…")
        self.start_button.hide()
        QTimer.singleShot(1500, self.refresh)
