"""Retry delays: exponential with full jitter, capped (so a clinic's many PCs coming
back online at once do not all knock on the server in step)."""

from __future__ import annotations

import random


class Backoff:
    def __init__(
        self, base_s: float = 1.0, cap_s: float = 300.0, rng: random.Random | None = None
    ) -> None:
        self.base_s = base_s
        self.cap_s = cap_s
        self.failures = 0
        self._rng = rng or random.Random()

    def next_delay(self, floor_s: float = 0.0) -> float:
        """The wait before the next try; `floor_s` honours a server's Retry-After."""
        self.failures += 1
        ceiling = min(self.cap_s, self.base_s * (2 ** min(self.failures, 20)))
        return max(floor_s, self._rng.uniform(0, ceiling))

    def reset(self) -> None:
        self.failures = 0
