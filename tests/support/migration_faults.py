"""Faults in the data migration job, for tests that run it in a real cloud process
(CHAIRSIDE_CLOUD_JOB_MODULES names this module). The file that
CHAIRSIDE_TEST_MIGRATION_FAULTS names says, when a move starts, what goes wrong in it:
"fail" (an error once the first chunk of rows is written), "stall" (the move stops
there for good, and the word "stalled" is written to the file, so that a test can kill
the process mid-move), or nothing."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from cloud.institutions import migration_job

migration_job.CHUNK = 2  # many chunks even for a handful of rows
_CONTROL = Path(os.environ.get("CHAIRSIDE_TEST_MIGRATION_FAULTS", "/nonexistent"))
_real = migration_job._move_chunk
_written = [0]


def _faulty(*args: Any, **kwargs: Any) -> None:
    _real(*args, **kwargs)
    _written[0] += 1
    fault = _CONTROL.read_text().strip() if _CONTROL.exists() else ""
    if _written[0] == 1 and fault == "fail":
        raise RuntimeError("fault injected after the first rows")
    if _written[0] == 1 and fault == "stall":
        _CONTROL.write_text("stalled")
        threading.Event().wait(600)


def _counting(session: Any, migration_id: str) -> tuple[int, int]:
    _written[0] = 0
    return _real_run(session, migration_id)


_real_run = migration_job._run
migration_job._move_chunk = _faulty
migration_job._run = _counting
