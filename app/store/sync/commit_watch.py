"""Commits by other processes (the sync agent) on the open database, as the app sees them.

`PRAGMA data_version` changes when another connection commits; reading it costs one
tiny query, so no table is polled. The agent also commits its heartbeat, so a commit
only brings pulled data when the agent's applied-changes counter
(sync_state.remote_version) moved; the kinds that moved are counted beside it
(sync_repo.count_changed_kinds).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from app.store.db import Database
from app.store.sync.sync_repo import ALL_KINDS, CHANGED_KINDS


@dataclass(frozen=True, slots=True)
class Commit:
    """Another connection committed. `kinds`: the kinds of pulled data it applied,
    ALL_KINDS among them when some step was of a kind not counted (images filed, a
    clinic dissolved); None when it brought no pulled data (a heartbeat, the queue)."""

    kinds: frozenset[str] | None


class CommitWatch:
    """Owns one raw reader connection of its own: `data_version` counts the commits of
    *other* connections, so it must not be a pooled one the app also writes through.
    Not thread-safe; the app polls it from one thread and closes it when done."""

    def __init__(self, db: Database) -> None:
        self._conn: Any = db.reader.raw_connection()
        self._version = self._data_version()
        self._remote = self._remote_version()
        self._kinds = self._changed_kinds()

    def poll(self) -> Commit | None:
        """What was committed since the last poll; None: nothing."""
        version = self._data_version()
        if version == self._version:
            return None
        self._version = version
        remote = self._remote_version()
        if remote == self._remote:
            return Commit(None)
        steps, self._remote = remote - self._remote, remote
        kinds = self._changed_kinds()
        moved = {k for k, n in kinds.items() if self._kinds.get(k) != n and k != ALL_KINDS}
        counted = int(kinds.get(ALL_KINDS, 0)) - int(self._kinds.get(ALL_KINDS, 0))
        self._kinds = kinds
        if counted != steps:
            moved.add(ALL_KINDS)
        return Commit(frozenset(moved))

    def close(self) -> None:
        self._conn.close()

    def _data_version(self) -> int:
        return int(self._conn.execute("PRAGMA data_version").fetchone()[0])

    def _remote_version(self) -> int:
        row = self._conn.execute("SELECT remote_version FROM sync_state").fetchone()
        return int(row[0]) if row else 0

    def _changed_kinds(self) -> dict[str, int]:
        row = self._conn.execute(
            "SELECT value FROM settings WHERE key = ?", (CHANGED_KINDS,)).fetchone()
        try:
            counts = json.loads(row[0]) if row else {}
        except (TypeError, ValueError):
            return {}
        return counts if isinstance(counts, dict) else {}
