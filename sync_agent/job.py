"""The shape of every job of the agent: `prepare()` says why it cannot run now, in
words (None: it can), and `run()` does it and returns a small report of what it did.

A job keeps what it needs between runs (its repositories, what it learned) in itself;
what a run needs that is not its own (a server, a stop event, a time budget) it is
given when made or set before the run. prepare() is cheap and may be asked at every
tick; only a job prepared without a reason is run.
"""

from __future__ import annotations

from typing import Protocol, TypeVar


class Report(Protocol):
    def describe(self) -> str:
        """What the run did, in words for the log or the app; empty when it did nothing
        worth telling."""
        ...


R_co = TypeVar("R_co", bound=Report, covariant=True)


class Job(Protocol[R_co]):
    name: str  # what the log calls it

    def prepare(self) -> str | None: ...

    def run(self) -> R_co: ...
