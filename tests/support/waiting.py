"""Waiting for another process or thread without Qt: the one poll the tests share.

Tests with a Qt event loop wait with `qtbot.waitUntil` / `waitSignal` instead, which
keep the loop turning; this one only sleeps between looks.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    predicate: Callable[[], T],
    timeout: float = 30.0,
    message: str = "the condition",
    *,
    step: float = 0.05,
) -> T:
    """What `predicate()` gives as soon as that is true, looking every `step` seconds;
    fails with `message` (what was awaited) once `timeout` seconds have passed. An
    exception from `predicate` ends the wait at once (a process that died)."""
    end = time.monotonic() + timeout
    while not (found := predicate()):
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {message}")
        time.sleep(step)
    return found
