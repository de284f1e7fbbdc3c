"""Which job kinds this process can run, and which run periodically."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from cloud.blobstore import BlobStore
from cloud.config import Settings


class JobError(RuntimeError):
    """A job failed for a reason worth showing as it is (in words, no secret)."""


@dataclass(frozen=True)
class JobContext:
    """What a handler gets besides its payload."""

    job_id: str
    attempt: int
    installation_id: str | None
    settings: Settings
    sessionmaker: sessionmaker[Session]
    blobs: BlobStore


Handler = Callable[[JobContext, dict[str, Any]], None]
HANDLERS: dict[str, Handler] = {}
SCHEDULES: dict[str, Callable[[Settings], float]] = {}


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Register the function that runs jobs of `kind` (it must be safe to run again:
    a job whose process died mid-way is run once more)."""
    def register(fn: Handler) -> Handler:
        HANDLERS[kind] = fn
        return fn
    return register


def every(kind: str, period: Callable[[Settings], float]) -> None:
    """Run the job `kind` periodically, every `period(settings)` seconds."""
    SCHEDULES[kind] = period


StartTask = Callable[[Settings, BlobStore], None]
AT_START: list[StartTask] = []


def at_start(fn: StartTask) -> StartTask:
    """Also run `fn` once in every process as it starts, on the runner's thread before
    it takes jobs (work on what the process itself holds, such as its blob folder)."""
    AT_START.append(fn)
    return fn
