"""The cycle collector paused during bulk work.

A pushed batch or a pulled page builds thousands of small
dicts and lists that all live until their rows are written; the collector would walk
them again and again (a quarter of the CPU time, measured) to find the very few cycles
such work leaves. They are collected once it is back on.

Threads of one process share the collector: it is off while any of them is inside
`collector_paused`, and back to how it was found when the last one leaves.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_holders = 0
_restore = False


@contextmanager
def collector_paused(pause: bool = True) -> Iterator[None]:
    global _holders, _restore
    if not pause:
        yield
        return
    with _lock:
        if _holders == 0:
            _restore = gc.isenabled()
            gc.disable()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _restore:
                gc.enable()
