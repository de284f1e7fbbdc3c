"""The pace of uploads: chunk and send-block sizes from the line's measured speed, and
the words that tell the user how an upload goes."""

from __future__ import annotations

import threading

from sync_agent.tus_client import SEND_BLOCK

KIB, MIB = 1024, 1024 * 1024
SEGMENT = 64 * KIB  # the plaintext of a sealed segment (app.platform.sealed)
SLOW_LINE = 256 * KIB  # bytes/s: below this, one file at a time


class ChunkSizer:
    """The PATCH size and the line's speed. The first chunk is small (64 KiB) and the
    size follows the measured speed so that a chunk takes about `target_s`, growing
    at most twofold a step; after an error it halves, down to a floor that the speed
    sets (a few tenths of a chunk's time, never under 16 KiB), so that a poor line
    re-sends little per interruption. One per job, shared by its workers
    (thread-safe), kept across runs: the speed measured is the line's."""

    def __init__(
        self,
        start: int = 64 * KIB,
        low: int = 16 * KIB,
        high: int = 32 * MIB,
        target_s: float = 3.0,
    ) -> None:
        self.low, self.high, self.target_s = low, high, target_s
        self._size = self._clamp(start)
        self._lock = threading.Lock()
        self.speed: float | None = None  # bytes/s the server confirmed, smoothed

    def _clamp(self, n: float) -> int:
        size = int(min(self.high, max(self.low, n)))
        # Whole blocks read more evenly from disk; from 64 KiB on, whole segments of
        # the cloud's sealed store, which then seals every chunk at once instead of
        # keeping its ragged end aside until the next one.
        block = SEGMENT if size >= SEGMENT else 16 * KIB
        aligned = size - size % block
        return max(self.low, aligned) if aligned else size

    @property
    def size(self) -> int:
        return self._size

    def record(self, nbytes: int, seconds: float) -> None:
        with self._lock:
            rate = nbytes / max(seconds, 1e-3)
            if nbytes >= min(self._size, 16 * KIB):
                self.speed = rate if self.speed is None else 0.5 * self.speed + 0.5 * rate
            if nbytes < self._size:  # a short last chunk tells little about the link
                return
            self._size = self._clamp(min(rate * self.target_s, self._size * 2))

    def floor(self) -> int:
        """The smallest chunk worth sending on this line."""
        if self.speed is None:
            return self.low
        return max(self.low, min(self._clamp(self.speed * self.target_s / 4), 256 * KIB))

    def shrink(self) -> None:
        with self._lock:
            self._size = max(min(self.floor(), self._size), self._clamp(self._size // 2))

    def block(self) -> int:
        """The send block: a quarter second of the line, 16 KiB to 1 MiB."""
        if self.speed is None:
            return SEND_BLOCK
        return int(min(MIB, max(SEND_BLOCK, self.speed / 4 // SEND_BLOCK * SEND_BLOCK)))

    def slow(self) -> bool:
        """A line too slow to share between two files: one goes first, whole."""
        return self.speed is not None and self.speed < SLOW_LINE


def mb(n: int) -> str:
    if n < MIB:
        return f"{n / KIB:.0f} KB"
    return f"{n / MIB:.1f} MB"


def rate(speed: float) -> str:
    return f"{speed / MIB:.1f} MB/s" if speed >= MIB else f"{speed / KIB:.0f} KB/s"


def time_left(seconds: float) -> str:
    if seconds < 60:
        return "less than a minute left"
    if seconds < 3600:
        return f"about {round(seconds / 60)} min left"
    return f"about {seconds / 3600:.1f} h left"


def stalled_words(done: int, total: int) -> str:
    return (f"the connection is too slow or keeps dropping: {mb(done)} of {mb(total)} "
            "sent, retrying")
