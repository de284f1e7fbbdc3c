"""One upload run's shared state: what its workers count, what is in flight, and when
they stop (the agent stops, the time budget is spent, or one worker met trouble).

Threads: an UploadRun is shared by the run's workers and the thread that publishes
progress; every field they change is changed under `lock`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, fields, replace

from app.store.sync.uploads_repo import UploadRow


@dataclass(frozen=True, slots=True)
class UploadProgress:
    current: str | None  # names of the files in flight
    done: int  # bytes of those the server confirmed (never goes back in a run)
    total: int  # bytes of those
    waiting_files: int
    waiting_bytes: int
    text: str | None = None  # what happens, in words: sizes, speed, time left, trouble


@dataclass
class UploadReport:
    done: int = 0
    already_stored: int = 0
    failed: int = 0
    sent_bytes: int = 0  # chunk bytes handed to the network, resent ones included
    interruptions: int = 0
    paused: bool = False

    def then(self, later: UploadReport) -> UploadReport:
        """This slice's report and the later slice's as one; `paused` is the later's."""
        counts = {f.name: getattr(self, f.name) + getattr(later, f.name)
                  for f in fields(UploadReport) if f.name != "paused"}
        return replace(later, **counts)


class Paused(Exception):
    """Stop between chunks: the agent stops, the budget is spent, or another worker
    met trouble. The file goes back to waiting; its URL and offset are kept."""


@dataclass
class Flight:
    name: str
    done: int  # bytes the server confirmed
    size: int


@dataclass
class UploadRun:
    server_url: str
    token: str | None
    stop: threading.Event
    deadline: float | None
    report: UploadReport = field(default_factory=UploadReport)
    halt: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    flight: dict[int, Flight] = field(default_factory=dict)  # by upload id

    def paused(self) -> bool:
        over = self.deadline is not None and time.monotonic() >= self.deadline
        return self.stop.is_set() or self.halt.is_set() or over

    def check(self) -> None:
        if self.paused():
            raise Paused()

    def wait(self, seconds: float) -> None:
        # Either event ends the wait; polling in short steps keeps this simple.
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0 and not self.paused():
            self.stop.wait(min(left, 0.1))
        self.check()

    def count(self, **fields: int) -> None:
        with self.lock:
            for name, n in fields.items():
                setattr(self.report, name, getattr(self.report, name) + n)

    def at(self, row: UploadRow, offset: int) -> None:
        """The server confirmed `offset` bytes; progress shown never goes back."""
        with self.lock:
            entry = self.flight.get(row.id)
            done = offset if entry is None else max(entry.done, offset)
            self.flight[row.id] = Flight(row.filename, done, row.size)

    def sent(self, n: int) -> None:
        with self.lock:
            self.report.sent_bytes += n

    def landed(self, row: UploadRow) -> None:
        with self.lock:
            self.flight.pop(row.id, None)

    def failed(self, exc: BaseException) -> None:
        with self.lock:
            if self.error is None:
                self.error = exc
        self.halt.set()

    def in_flight(self) -> list[tuple[str, int, int, int]]:
        """(name, done, size, upload id) of the files in flight, by name."""
        with self.lock:
            return sorted((e.name, e.done, e.size, i) for i, e in self.flight.items())
