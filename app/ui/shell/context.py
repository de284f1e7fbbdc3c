"""What every window needs: the store, who is signed in, the op runner."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, QTimer, Signal

from app.store.dto import UserRow, Viewer
from app.store.services import Store
from app.ui.shell.ops import OpRunner


class ExternalChanges(QObject):
    """Notices commits by other processes (the sync agent) on the same database.

    `PRAGMA data_version` changes when another connection commits; reading it costs
    one tiny query, so no table is polled. The agent also commits its heartbeat, so a
    commit only counts as a data change when the agent's applied-changes counter
    (sync_state.remote_version) moved; otherwise it is news for the status bar.
    """

    changed = Signal(object)
    agentChanged = Signal()

    def __init__(self, store: Store, interval_ms: int = 1500, parent: QObject | None = None):
        super().__init__(parent)
        self._store = store
        self._conn = store.db.reader.raw_connection()
        self._version = self._read()
        self._remote = self._read_remote()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._check)
        self._timer.start(interval_ms)

    def _read(self) -> int:
        return int(self._conn.execute("PRAGMA data_version").fetchone()[0])

    def _read_remote(self) -> int:
        row = self._conn.execute("SELECT remote_version FROM sync_state").fetchone()
        return int(row[0]) if row else 0

    def _check(self) -> None:
        version = self._read()
        if version == self._version:
            return
        self._version = version
        self.agentChanged.emit()
        remote = self._read_remote()
        if remote != self._remote:
            self._remote = remote
            self.changed.emit(
                {"patients", "visits", "appointments", "agreements", "chairs", "external"}
            )

    def stop(self) -> None:
        self._timer.stop()
        self._conn.close()


@dataclass
class AppContext:
    store: Store
    user: UserRow
    ops: OpRunner
    start_agent: bool = False  # start the sync agent when the main window opens

    @property
    def viewer(self) -> Viewer:
        return self.user.viewer()
