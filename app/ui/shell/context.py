"""What every window needs: the store, who is signed in, the op runner."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, QTimer, Signal

from app.store.dto import UserRow, Viewer
from app.store.services import Store
from app.store.sync.commit_watch import CommitWatch
from app.store.sync.sync_repo import CONFLICTS_KIND
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
    """Tells the open windows about commits by other processes (the sync agent) on
    the same database (app.store.sync.commit_watch): `agentChanged` for every commit,
    news for the status bar; `changed` with the flags to reload when pulled data
    arrived."""

    changed = Signal(object)
    agentChanged = Signal()

    def __init__(self, store: Store, interval_ms: int = 1500, parent: QObject | None = None):
        super().__init__(parent)
        self._watch = CommitWatch(store.db)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._check)
        self._timer.start(interval_ms)

    def _check(self) -> None:
        commit = self._watch.poll()
        if commit is None:
            return
        self.agentChanged.emit()
        if commit.kinds is not None:
            self.changed.emit(flags_for(set(commit.kinds)))

    def stop(self) -> None:
        self._timer.stop()
        self._watch.close()


@dataclass
class AppContext:
    store: Store
    user: UserRow
    ops: OpRunner
    start_agent: bool = False  # start the sync agent when the main window opens

    @property
    def viewer(self) -> Viewer:
        return self.user.viewer()
