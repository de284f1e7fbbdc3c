"""Job kinds the tests run in real cloud processes (CHAIRSIDE_CLOUD_JOB_MODULES names
this module): each appends what it did to the file its payload names."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from cloud.jobs import JobContext, JobError, handler


def _note(path: str, line: str) -> None:
    # O_APPEND: lines of several processes never interleave within a line.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


@handler("test.record")
def record(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Notes the run; `hold` seconds in it, so that other claimers come meanwhile."""
    _note(payload["log"], f"{ctx.job_id} {os.getpid()} {ctx.attempt}")
    threading.Event().wait(float(payload.get("hold", 0)))


@handler("test.stall_first")
def stall_first(ctx: JobContext, payload: dict[str, Any]) -> None:
    """The first attempt starts and never ends (its process is killed meanwhile)."""
    _note(payload["log"], f"start {os.getpid()} {ctx.attempt}")
    if ctx.attempt == 1:
        threading.Event().wait(600)
    _note(payload["log"], f"done {os.getpid()} {ctx.attempt}")


@handler("test.fail")
def fail(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Fails with `reason` until attempt `succeed_at` (never, when absent)."""
    if ctx.attempt < int(payload.get("succeed_at", 10**6)):
        raise JobError(payload["reason"])
    Path(payload["log"]).write_text(f"succeeded at {ctx.attempt}")
