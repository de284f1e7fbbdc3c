"""The loop that runs jobs in a server process: one job at a time, on a thread of its own.

It claims a due job, renews the job's lease while the handler runs (so that only a
process that died lets it lapse), and records the outcome: succeeded, or the error in
words and a retry after a backoff, or failed once the attempts are used up.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid

from sqlalchemy.orm import Session, sessionmaker

from cloud.blobstore import BlobStore
from cloud.config import Settings
from cloud.jobs import queue
from cloud.jobs.registry import AT_START, HANDLERS, SCHEDULES, JobContext, JobError

log = logging.getLogger("cloud.jobs")


def worker_name() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def describe(exc: BaseException) -> str:
    """An error as the admin reads it: a JobError's own words; anything else by its
    kind only, since its text may hold data of a practice."""
    if isinstance(exc, JobError):
        return str(exc) or "the job failed"
    if isinstance(exc, OSError) and exc.strerror:
        return f"a storage or network error: {exc.strerror}"
    return f"an unexpected error ({type(exc).__name__}); see the server log"


class Runner:
    def __init__(self, settings: Settings, maker: sessionmaker[Session],
                 blobs: BlobStore) -> None:
        self.settings = settings
        self.maker = maker
        self.blobs = blobs
        self.worker = worker_name()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        with self.maker() as session:
            for kind, period in SCHEDULES.items():
                queue.ensure_schedule(session, kind, period(self.settings))
        self._thread = threading.Thread(target=self._loop, name="cloud-jobs", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def wake(self) -> None:
        """Look for due jobs now (one was just queued)."""
        self._wake.set()

    def _loop(self) -> None:
        for task in AT_START:
            try:
                task(self.settings, self.blobs)
            except Exception:  # the periodic round will try again
                log.exception("a start-up task failed")
        while not self._stop.is_set():
            try:
                ran = self.run_one()
            except Exception:  # the database may be away for a moment; poll again
                log.exception("claiming a job failed")
                ran = False
            if not ran:
                self._wake.wait(self.settings.job_poll_s)
                self._wake.clear()

    def run_one(self) -> bool:
        """Claim and run one due job; False when none was due."""
        with self.maker() as session:
            c = queue.claim(session, kinds=sorted(HANDLERS), worker=self.worker,
                            lease_s=self.settings.job_lease_s)
        if c is None:
            return False
        ctx = JobContext(c.id, c.attempt, c.installation_id, self.settings, self.maker,
                         self.blobs)
        done = threading.Event()
        keeper = threading.Thread(target=self._keep_lease, args=(c, done), daemon=True)
        keeper.start()
        error: str | None = None
        try:
            HANDLERS[c.kind](ctx, c.payload)
        except Exception as exc:
            error = describe(exc)
            log.warning("job %s (%s) attempt %d failed: %s", c.id, c.kind, c.attempt, error,
                        exc_info=not isinstance(exc, JobError))
        finally:
            done.set()
            keeper.join()
        with self.maker() as session:
            if not queue.finish(session, c, error=error,
                                retry_base_s=self.settings.job_retry_base_s):
                log.warning("job %s (%s): its lease ran out meanwhile; another process "
                            "has it", c.id, c.kind)
        return True

    def _keep_lease(self, c: queue.Claim, done: threading.Event) -> None:
        every = max(self.settings.job_lease_s / 3, 0.05)
        while not done.wait(every):
            try:
                with self.maker() as session:
                    if not queue.renew(session, c, lease_s=self.settings.job_lease_s):
                        return
            except Exception:  # the next renewal may get through before the lease ends
                log.warning("renewing the lease of job %s failed", c.id, exc_info=True)
