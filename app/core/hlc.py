"""Hybrid logical clock (Kulkarni et al., 2014).

A timestamp is (wall milliseconds, logical counter, node id). It never goes backwards
on one node, it moves past every timestamp the node has seen from others, and ties
are broken by node id, so every pair of events is totally ordered the same way on
every replica. The text form sorts like the timestamp, which lets SQL compare them.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

# How far ahead of our own clock a remote timestamp may be before we stop trusting it.
MAX_DRIFT_MS = 60_000
_COUNTER_MAX = 0xFFFF
_TEXT = re.compile(r"^(\d{13})-([0-9a-f]{4})-([0-9a-f]{16})$")
STAMP_TEXT = _TEXT  # what `Timestamp.check` accepts, for checks that run it in bulk


@dataclass(frozen=True, order=True, slots=True)
class Timestamp:
    wall_ms: int
    counter: int
    node: str

    def __str__(self) -> str:
        return f"{self.wall_ms:013d}-{self.counter:04x}-{self.node}"

    @classmethod
    def parse(cls, text: str) -> Timestamp:
        m = _TEXT.match(text)
        if not m:
            raise ValueError(f"not an HLC timestamp: {text[:40]!r}")
        return cls(int(m.group(1)), int(m.group(2), 16), m.group(3))

    @staticmethod
    def check(text: str) -> None:
        """Raise ValueError as `parse` does, without building the timestamp (a batch
        of mutations checks tens of thousands)."""
        if not _TEXT.match(text):
            raise ValueError(f"not an HLC timestamp: {text[:40]!r}")


def clamp(ts: Timestamp, now_ms: int, max_drift_ms: int = MAX_DRIFT_MS) -> Timestamp:
    """A timestamp no further ahead than now + max drift (a PC with a wrong clock must
    not win every future conflict)."""
    limit = now_ms + max_drift_ms
    if ts.wall_ms <= limit:
        return ts
    return Timestamp(limit, ts.counter, ts.node)


class Clock:
    """One node's clock. Thread-safe.

    `now()` stamps a local event; `observe()` merges a remote timestamp so that later
    local events order after it.
    """

    def __init__(
        self,
        node: str,
        last: Timestamp | None = None,
        wall: Callable[[], int] | None = None,
        max_drift_ms: int = MAX_DRIFT_MS,
    ) -> None:
        if not re.fullmatch(r"[0-9a-f]{16}", node):
            raise ValueError("node id must be 16 lowercase hex digits")
        self.node = node
        self._wall = wall or (lambda: time.time_ns() // 1_000_000)
        self._max_drift = max_drift_ms
        self._lock = threading.Lock()
        self._l = last.wall_ms if last else 0
        self._c = last.counter if last else 0

    def _bump(self, candidate_l: int, candidate_c: int) -> Timestamp:
        if candidate_c > _COUNTER_MAX:
            # Counter exhausted within one millisecond: borrow the next millisecond.
            candidate_l, candidate_c = candidate_l + 1, 0
        self._l, self._c = candidate_l, candidate_c
        return Timestamp(self._l, self._c, self.node)

    def now(self) -> Timestamp:
        with self._lock:
            pt = self._wall()
            if pt > self._l:
                return self._bump(pt, 0)
            return self._bump(self._l, self._c + 1)

    def observe(self, remote: Timestamp) -> Timestamp:
        """Merge a remote timestamp; one that is too far in the future is clamped."""
        with self._lock:
            pt = self._wall()
            remote = clamp(remote, pt, self._max_drift)
            new_l = max(self._l, remote.wall_ms, pt)
            if new_l == self._l == remote.wall_ms:
                c = max(self._c, remote.counter) + 1
            elif new_l == self._l:
                c = self._c + 1
            elif new_l == remote.wall_ms:
                c = remote.counter + 1
            else:
                c = 0
            return self._bump(new_l, c)

    @property
    def last(self) -> Timestamp:
        with self._lock:
            return Timestamp(self._l, self._c, self.node)
