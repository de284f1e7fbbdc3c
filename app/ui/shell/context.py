"""What every window needs: the store, who is signed in, the op runner."""

from __future__ import annotations

import json
from dataclasses import dataclass

from PySide6.QtCore import QObject, QTimer, Signal

from app.store.dto import UserRow, Viewer
from app.store.services import Store
from app.store.sync.sync_repo import ALL_KINDS, CHANGED_KINDS, CONFLICTS_KIND
from app.ui.shell.ops import OpRunner

# The change flags (see ops.WriteOp.changes) a pulled change of each kind calls for.
_FLAGS_OF_KIND = {
    "patient": {"patients"}, "visit": {"visits"}, "appointment": {"appointments"},
    "chair": {"chairs"}, "provider_hours": {"chairs"}, "scan_ticket": {"tickets"},
    "lab_case": {"cases"}, "agreement": {"agreements"}, "payment": {"agreements"},
    "record_image": {"images"}, "user": {"users"}, "note": {"notes"},
    CONFLICTS_KIND: {"conflicts"},
}
EVERYTHING = frozenset(
    {"patients", "visits", "appointments", "agreements", "chairs", "external"})


def flags_for(kinds: set[str]) -> set[str]:
    """What the open windows reload for pulled changes of these kinds: a pulled note
    reloads the notes, not the patient list, the diary and the patient page. Kinds
    without flags of their own (a patient merge moves rows of every kind), and a change
    whose kinds are not known (images filed, a clinic dissolved), reload everything."""
    flags: set[str] = set()
    for kind in kinds:
        if kind not in _FLAGS_OF_KIND:
            return set(EVERYTHING)
        flags |= _FLAGS_OF_KIND[kind]
    return flags or set(EVERYTHING)


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
        self._kinds = self._read_kinds()
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
            steps = remote - self._remote
            self._remote = remote
            kinds = self._read_kinds()
            moved = {k for k, n in kinds.items() if self._kinds.get(k) != n and k != ALL_KINDS}
            counted = int(kinds.get(ALL_KINDS, 0)) - int(self._kinds.get(ALL_KINDS, 0))
            self._kinds = kinds
            if counted != steps:
                moved.add(ALL_KINDS)  # a step of unknown kind: everything
            self.changed.emit(flags_for(moved))

    def _read_kinds(self) -> dict[str, int]:
        row = self._conn.execute(
            "SELECT value FROM settings WHERE key = ?", (CHANGED_KINDS,)).fetchone()
        try:
            counts = json.loads(row[0]) if row else {}
        except (TypeError, ValueError):
            return {}
        return counts if isinstance(counts, dict) else {}

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
