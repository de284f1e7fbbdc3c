"""Upload: the queue of images to the cloud over tus, smallest first, two at a time.

Each file goes as sync_agent.upload_file sends it: checked against the SHA-256 it was
queued with, resumed from the server's offset, done only once the server confirmed
the whole of it. This job runs the workers and tells the app how the files go.

Threads: `run()` is called from the agent's loop and returns when nothing waits, the
time budget is spent, `stop` is set, or the link fails too often in a row; its
workers are joined before it returns. Database writes go through UploadsRepo.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from app.store.sync.uploads_repo import UploadsRepo
from sync_agent.job import Link
from sync_agent.tus_client import CONNECT_TIMEOUT_S, READ_TIMEOUT_S, TusClient
from sync_agent.upload_file import LOCK_WAIT_S, FileSender, VerifiedFiles
from sync_agent.upload_pace import ChunkSizer, mb, rate, stalled_words, time_left
from sync_agent.upload_run import UploadProgress, UploadReport, UploadRun
from sync_agent.upload_stalls import Stalls

WORKERS = 2
MAX_FAILURES = 5  # in a row without progress, before waiting for the agent's backoff
PROGRESS_EVERY_S = 0.25  # at most four state updates a second ...
BEAT_EVERY_S = 2.0  # ... and at least one every two, so the heartbeat stays fresh


class UploadJob:
    name = "upload"

    def __init__(
        self,
        repo: UploadsRepo,
        *,
        workers: int = WORKERS,
        sizer: ChunkSizer | None = None,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
        read_timeout_s: float = READ_TIMEOUT_S,
        max_failures: int = MAX_FAILURES,
        on_progress: Callable[[UploadProgress], None] | None = None,
    ) -> None:
        self.repo = repo
        self.workers = workers
        self.sizer = sizer or ChunkSizer()
        self.connect_timeout_s = connect_timeout_s
        self.read_timeout_s = read_timeout_s
        self.max_failures = max_failures
        self.on_progress = on_progress
        self.verified = VerifiedFiles()
        self.last_report: UploadReport | None = None
        self.lock_wait_s = LOCK_WAIT_S
        # Across runs (an upload goes in slices): which uploads do not move.
        self.stalls = Stalls(repo)
        self.link: Link | None = None  # the server the next runs send to

    def prepare(self) -> str | None:
        if self.link is None:
            return "not connected to a server yet"
        if not self.repo.counts().files:
            return "no image waits to be sent"
        return None

    @property
    def stalled_after_s(self) -> float:
        """How long an upload's offset may stay put before it is said to be stalled."""
        return self.stalls.after_s

    @stalled_after_s.setter
    def stalled_after_s(self, seconds: float) -> None:
        self.stalls.after_s = seconds

    # The run --------------------------------------------------------------------------
    def run(self) -> UploadReport:
        """Send what waits to `link`, for at most its budget (prepared first).
        TransientError (after MAX_FAILURES in a row) and AuthError propagate; a file the
        server refuses is marked failed and the others go on."""
        link = self.link
        if link is None:
            raise RuntimeError("an upload runs once prepared, with a server")
        self.repo.requeue_interrupted()
        deadline = None if link.budget_s is None else time.monotonic() + link.budget_s
        ctx = UploadRun(link.server_url, link.token, link.stop, deadline)
        sender = FileSender(self.repo, self.sizer, self.stalls, self.verified,
                            self.max_failures, self.lock_wait_s)
        threads = [
            threading.Thread(
                target=self._worker, args=(ctx, sender, i), name=f"upload-{i}", daemon=True
            )
            for i in range(self.workers)
        ]
        for t in threads:
            t.start()
        last: tuple[object, ...] | None = None
        last_at = 0.0
        for t in threads:
            while t.is_alive():
                t.join(PROGRESS_EVERY_S)
                last, last_at = self._publish(ctx, last, last_at)
        self._publish(ctx, None, 0.0, force=True)
        ctx.report.paused = ctx.paused() and ctx.error is None
        self.last_report = ctx.report
        if ctx.error is not None:
            raise ctx.error
        return ctx.report

    def _publish(
        self, ctx: UploadRun, last: tuple[object, ...] | None, last_at: float,
        force: bool = False,
    ) -> tuple[tuple[object, ...] | None, float]:
        if self.on_progress is None:
            return last, last_at
        flight = ctx.in_flight()
        names = ", ".join(e[0] for e in flight)[:500] or None
        done = sum(e[1] for e in flight)
        total = sum(e[2] for e in flight)
        now = time.monotonic()
        text = self.describe(names, done, total, [e[3] for e in flight], now)
        state = (names, done, total, text)
        due = now - last_at >= (PROGRESS_EVERY_S if state != last else BEAT_EVERY_S)
        if not (force or due):
            return last, last_at
        counts = self.repo.counts()
        self.on_progress(UploadProgress(names, done, total, counts.files, counts.bytes, text))
        return state, now

    def describe(
        self, names: str | None, done: int, total: int, ids: list[int], now: float
    ) -> str | None:
        """The files in flight in words: how much arrived, the speed and the time left;
        or, when none moved for a while, that the line is the trouble."""
        if names is None:
            return None
        if self.stalls.stalled(ids, now):
            return f"{names}: {stalled_words(done, total)}"
        text = f"{names}: {mb(done)} of {mb(total)}"
        speed = self.sizer.speed
        if speed:
            text += f", {rate(speed)}, {time_left((total - done) / speed)}"
        return text

    def _worker(self, ctx: UploadRun, sender: FileSender, index: int = 0) -> None:
        tus = TusClient(
            ctx.server_url,
            ctx.token,
            connect_timeout_s=self.connect_timeout_s,
            read_timeout_s=self.read_timeout_s,
        )
        try:
            while not ctx.paused():
                if index and self.sizer.slow():
                    return  # a poor line carries one file at a time
                row = self.repo.claim_next()
                if row is None:
                    return
                sender.one(row, tus, ctx)
        except BaseException as exc:
            ctx.failed(exc)
        finally:
            tus.close()
