"""Waiting for another process or thread without Qt: the one poll the tests share.

Tests with a Qt event loop wait with `qtbot.waitUntil` / `waitSignal` instead, which
keep the loop turning; this one only sleeps between looks.
"""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(
    predicate: Callable[[], object],
    timeout: float = 30.0,
    message: str = "the condition",
    *,
    step: float = 0.05,
) -> None:
    """Return as soon as `predicate()` is true, looking every `step` seconds; fail
    with `message` (what was awaited) once `timeout` seconds have passed."""
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {message}")
        time.sleep(step)
