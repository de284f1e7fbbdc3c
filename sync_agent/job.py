"""The shape of every job of the agent: `prepare()` says why it cannot run now, in
words (None: it can), and `run()` does it and returns a small report of what it did.

A job keeps what it needs between runs (its repositories, what it learned) in itself;
what a run needs that is not its own (a server, a stop event, a time budget) it is
given when made or set before the run. prepare() is cheap and may be asked at every
tick; only a job prepared without a reason is run.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Protocol, TypeVar


class Report(Protocol):
    def describe(self) -> str:
        """What the run did, in words for the log or the app; empty when it did nothing
        worth telling."""
        ...


R_co = TypeVar("R_co", bound=Report, covariant=True)


@dataclass(frozen=True, slots=True)
class Link:
    """What a job that moves files is given for its next runs: the server, and when to
    stop (the agent stops; the time budget of a run, None for no limit)."""

    server_url: str
    token: str | None
    stop: threading.Event = field(default_factory=threading.Event)
    budget_s: float | None = None


class Job(Protocol[R_co]):
    name: str  # what the log calls it

    def prepare(self) -> str | None: ...

    def run(self) -> R_co: ...
