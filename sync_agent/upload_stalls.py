"""Which uploads do not move: by upload id, the server's offset and when it last moved,
the failures in a row since, and whether the upload list was told why it waits.

Kept across runs (an upload goes in slices), shared by the workers (thread-safe).
"""

from __future__ import annotations

import threading
import time

from app.store.sync.uploads_repo import UploadRow, UploadsRepo
from sync_agent.upload_pace import stalled_words

# An upload whose server offset has not moved for this long says so in words.
STALLED_AFTER_S = 120.0


class Stalls:
    def __init__(self, repo: UploadsRepo, after_s: float = STALLED_AFTER_S) -> None:
        self.repo = repo
        self.after_s = after_s
        self._moved: dict[int, tuple[int, float]] = {}
        self._failures: dict[int, int] = {}
        self._noted: set[int] = set()
        self._lock = threading.Lock()

    def stalled(self, ids: list[int], now: float) -> bool:
        """None of these uploads moved for `after_s` (and one of them was seen)."""
        with self._lock:
            moved = [self._moved[i][1] for i in ids if i in self._moved]
        return bool(moved) and now - max(moved) >= self.after_s

    def moved_to(self, row: UploadRow, offset: int) -> bool:
        """Note the server's offset; True when it moved on since last noted."""
        now = time.monotonic()
        with self._lock:
            before = self._moved.get(row.id)
            if before is None or offset > before[0]:
                self._moved[row.id] = (offset, now)
                self._failures.pop(row.id, None)
                return before is not None
            return False

    def failed_once(self, row: UploadRow) -> int:
        """One more failure of this upload; how many in a row since it last moved."""
        with self._lock:
            n = self._failures.get(row.id, 0) + 1
            self._failures[row.id] = n
            return n

    def note_trouble(self, row: UploadRow, offset: int | None) -> None:
        """The upload list says in words why an upload that does not move waits."""
        if not self.stalled([row.id], time.monotonic()):
            return
        with self._lock:
            done = self._moved.get(row.id, (offset or 0, 0.0))[0]
            self._noted.add(row.id)
        self.repo.note(row.id, stalled_words(done, row.size))

    def clear_note(self, row: UploadRow) -> None:
        with self._lock:
            if row.id not in self._noted:
                return
            self._noted.discard(row.id)
        self.repo.note(row.id, None)

    def forget(self, row: UploadRow) -> None:
        with self._lock:
            self._moved.pop(row.id, None)
            self._failures.pop(row.id, None)
            self._noted.discard(row.id)
