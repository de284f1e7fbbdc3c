"""Where a bench PC's time goes: with CHAIRSIDE_BENCH_TRACE=DIR, each PC process of
bench/_pc_process.py notes every push, pull, page applied, page fetched, upload slice
and idle wait (start after the go signal, wall seconds, the calling thread's CPU
seconds) and writes them to DIR/<pc>.json; `python bench/_pc_trace.py DIR` sums them up
per PC and says when each PC last did anything.

Off by default: the wrapping costs a little, and the figures are for finding the idle
gaps and the heavy parts, not for the converge_s a run prints.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ENV = "CHAIRSIDE_BENCH_TRACE"


class Trace:
    def __init__(self, out: Path) -> None:
        self.out = out
        self.t0 = time.perf_counter()
        self.events: list[tuple[str, float, float, float, str]] = []
        self.lock = threading.Lock()

    def start(self) -> None:
        self.t0 = time.perf_counter()

    def wrap(self, owner: Any, name: str, label: str | None = None) -> None:
        inner: Callable[..., Any] = getattr(owner, name)
        label = label or name

        @functools.wraps(inner)
        def traced(*args: Any, **kwargs: Any) -> Any:
            t, c = time.perf_counter(), time.thread_time()
            try:
                return inner(*args, **kwargs)
            finally:
                with self.lock:
                    self.events.append((label, t - self.t0, time.perf_counter() - t,
                                        time.thread_time() - c,
                                        threading.current_thread().name))

        setattr(owner, name, traced)

    def save(self) -> None:
        self.out.write_text(json.dumps(self.events))


def install(name: str) -> Trace | None:
    """Trace this PC process's agent when the environment asks for it."""
    folder = os.environ.get(ENV)
    if not folder:
        return None
    from app.store.sync.sync_repo import SyncRepo
    from sync_agent import runner
    from sync_agent.client import CloudClient
    from sync_agent.upload_job import UploadJob

    trace = Trace(Path(folder) / f"{name}.json")
    for fn in ("push_all", "push_all_unless_locked", "pull_all", "send_decisions"):
        trace.wrap(runner, fn)
    trace.wrap(SyncRepo, "apply_remote")
    trace.wrap(SyncRepo, "outbox_batch")
    trace.wrap(SyncRepo, "acknowledge")
    trace.wrap(CloudClient, "pull", "fetch")
    trace.wrap(CloudClient, "push_raw", "send")
    trace.wrap(UploadJob, "run", "upload_slice")
    trace.wrap(runner.Agent, "sync_once")
    trace.wrap(runner.Agent, "publish")
    return trace


def summary(folder: Path) -> None:
    for path in sorted(folder.glob("*.json")):
        events = json.loads(path.read_text())
        wall: dict[str, float] = defaultdict(float)
        cpu: dict[str, float] = defaultdict(float)
        count: dict[str, int] = defaultdict(int)
        last: dict[str, float] = defaultdict(float)
        for label, start, took, used, _thread in events:
            wall[label] += took
            cpu[label] += used
            count[label] += 1
            last[label] = max(last[label], start + took)
        print(f"{path.stem}: " + "  ".join(
            f"{k}={count[k]}x wall={wall[k]:.1f} cpu={cpu[k]:.1f} end={last[k]:.1f}"
            for k in sorted(wall)))


if __name__ == "__main__":
    summary(Path(sys.argv[1]))
