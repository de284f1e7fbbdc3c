"""Upload: the queue of images to the cloud over tus, smallest first, two at a time.

Each file is checked against the SHA-256 it was queued with before any byte of it
goes out (a file that changed is marked failed, never sent). A file is resumed from
the server's offset — asked with HEAD after any error, and at every start, so a
restart of the agent or of the PC resumes rather than restarts; a new upload is
created only when the server no longer knows the old one (404/410). A file counts as
done only when the server confirmed the whole of it: the last PATCH succeeded (the
server checks the SHA-256 on the last byte) or creation answered "already stored".

Threads: `run()` is called from the agent's loop and returns when nothing waits, the
time budget is spent, `stop` is set, or the link fails too often in a row; its
workers are joined before it returns. Database writes go through UploadsRepo.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from app.store.uploads_repo import UploadRow, UploadsRepo
from sync_agent.client import AuthError, RejectedError, TransientError
from sync_agent.tus_client import (
    BLOCK,
    CONNECT_TIMEOUT_S,
    READ_TIMEOUT_S,
    ChecksumMismatch,
    FileSlice,
    TusClient,
    UploadGone,
)

KIB, MIB = 1024, 1024 * 1024
WORKERS = 2
MAX_FAILURES = 5  # in a row without progress, before waiting for the agent's backoff
RETRY_AFTER_CAP_S = 30.0
PROGRESS_EVERY_S = 0.25  # at most four state updates a second ...
BEAT_EVERY_S = 2.0  # ... and at least one every two, so the heartbeat stays fresh


class ChunkSizer:
    """The PATCH size: starts near 1 MiB and follows the link so that a chunk takes
    about `target_s`; grows at most twofold a step, halves after an error. One per
    job, shared by its workers (thread-safe)."""

    def __init__(
        self,
        start: int = MIB,
        low: int = 256 * KIB,
        high: int = 32 * MIB,
        target_s: float = 3.0,
    ) -> None:
        self.low, self.high, self.target_s = low, high, target_s
        self._size = self._clamp(start)
        self._lock = threading.Lock()

    def _clamp(self, n: float) -> int:
        size = int(min(self.high, max(self.low, n)))
        aligned = size - size % (64 * KIB)  # whole blocks read more evenly from disk
        return max(self.low, aligned) if aligned else size

    @property
    def size(self) -> int:
        return self._size

    def record(self, nbytes: int, seconds: float) -> None:
        with self._lock:
            if nbytes < self._size:  # a short last chunk tells little about the link
                return
            ideal = nbytes / max(seconds, 1e-3) * self.target_s
            self._size = self._clamp(min(ideal, self._size * 2))

    def shrink(self) -> None:
        with self._lock:
            self._size = self._clamp(self._size // 2)


@dataclass(frozen=True, slots=True)
class UploadProgress:
    current: str | None  # names of the files in flight
    done: int  # bytes of those the server holds or that are on their way
    total: int  # bytes of those
    waiting_files: int
    waiting_bytes: int


@dataclass
class UploadReport:
    done: int = 0
    already_stored: int = 0
    failed: int = 0
    sent_bytes: int = 0  # chunk bytes handed to the network, resent ones included
    interruptions: int = 0
    paused: bool = False


class _Paused(Exception):
    """Stop between chunks: the agent stops, the budget is spent, or another worker
    met trouble. The file goes back to waiting; its URL and offset are kept."""


class _FileProblem(Exception):
    """The file on disk cannot be sent as queued."""


@dataclass
class _Flight:
    name: str
    done: int  # bytes the server confirmed, plus those on their way
    size: int


@dataclass
class _Run:
    server_url: str
    token: str | None
    stop: threading.Event
    deadline: float | None
    report: UploadReport = field(default_factory=UploadReport)
    halt: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    flight: dict[int, _Flight] = field(default_factory=dict)  # by upload id

    def paused(self) -> bool:
        over = self.deadline is not None and time.monotonic() >= self.deadline
        return self.stop.is_set() or self.halt.is_set() or over

    def check(self) -> None:
        if self.paused():
            raise _Paused()

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
        with self.lock:
            self.flight[row.id] = _Flight(row.filename, offset, row.size)

    def sent(self, row: UploadRow, n: int) -> None:
        with self.lock:
            self.report.sent_bytes += n
            entry = self.flight.get(row.id)
            if entry is not None:
                entry.done += n

    def landed(self, row: UploadRow) -> None:
        with self.lock:
            self.flight.pop(row.id, None)

    def failed(self, exc: BaseException) -> None:
        with self.lock:
            if self.error is None:
                self.error = exc
        self.halt.set()


def _sha256_of(fd: int, size: int) -> str:
    h = hashlib.sha256()
    pos = 0
    while pos < size:
        data = os.pread(fd, min(BLOCK, size - pos), pos)
        if not data:
            break
        h.update(data)
        pos += len(data)
    return h.hexdigest()


class UploadJob:
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
        # (path, device, inode, size, mtime) -> sha256, of files read whole already,
        # so that resuming a large file does not hash it again each time.
        self._verified: dict[tuple[str, int, int, int, int], str] = {}
        self._verified_lock = threading.Lock()
        self.last_report: UploadReport | None = None

    # The run --------------------------------------------------------------------------
    def run(
        self,
        server_url: str,
        token: str | None,
        *,
        stop: threading.Event | None = None,
        budget_s: float | None = None,
    ) -> UploadReport:
        """Send what waits. TransientError (after MAX_FAILURES in a row) and AuthError
        propagate; a file the server refuses is marked failed and the others go on."""
        if not self.repo.counts().files:
            self.last_report = UploadReport()
            return self.last_report  # nothing waits: no threads, no write
        self.repo.requeue_interrupted()
        deadline = None if budget_s is None else time.monotonic() + budget_s
        ctx = _Run(server_url, token, stop or threading.Event(), deadline)
        threads = [
            threading.Thread(target=self._worker, args=(ctx,), name=f"upload-{i}", daemon=True)
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
        self, ctx: _Run, last: tuple[object, ...] | None, last_at: float, force: bool = False
    ) -> tuple[tuple[object, ...] | None, float]:
        if self.on_progress is None:
            return last, last_at
        with ctx.lock:
            flight = sorted((e.name, e.done, e.size) for e in ctx.flight.values())
        names = ", ".join(e[0] for e in flight)[:500] or None
        done = sum(e[1] for e in flight)
        total = sum(e[2] for e in flight)
        now = time.monotonic()
        state = (names, done, total)
        due = now - last_at >= (PROGRESS_EVERY_S if state != last else BEAT_EVERY_S)
        if not (force or due):
            return last, last_at
        counts = self.repo.counts()
        self.on_progress(UploadProgress(names, done, total, counts.files, counts.bytes))
        return state, now

    def _worker(self, ctx: _Run) -> None:
        tus = TusClient(
            ctx.server_url,
            ctx.token,
            connect_timeout_s=self.connect_timeout_s,
            read_timeout_s=self.read_timeout_s,
        )
        try:
            while not ctx.paused():
                row = self.repo.claim_next()
                if row is None:
                    return
                self._one(row, tus, ctx)
        except BaseException as exc:
            ctx.failed(exc)
        finally:
            tus.close()

    def _one(self, row: UploadRow, tus: TusClient, ctx: _Run) -> None:
        try:
            fd = self._open_verified(row)
        except _FileProblem as exc:
            self.repo.mark_failed(row.id, str(exc))
            ctx.count(failed=1)
            return
        try:
            self._send(row, fd, tus, ctx)
        except _Paused:
            self.repo.release(row.id)
        except _FileProblem as exc:
            self.repo.mark_failed(row.id, str(exc))
            ctx.count(failed=1)
        except AuthError as exc:
            self.repo.release(row.id, str(exc))
            raise
        except RejectedError as exc:
            self.repo.mark_failed(row.id, str(exc))
            ctx.count(failed=1)
        except OSError as exc:
            self.repo.mark_failed(row.id, f"the file could not be read: {exc.strerror or exc}")
            ctx.count(failed=1)
        except BaseException as exc:
            self.repo.release(row.id, str(exc) or type(exc).__name__)
            raise
        finally:
            os.close(fd)
            ctx.landed(row)

    # One file -------------------------------------------------------------------------
    def _open_verified(self, row: UploadRow, again: bool = False) -> int:
        """A read-only descriptor of the file, which has the queued size and SHA-256."""
        try:
            fd = os.open(row.path, os.O_RDONLY)
        except OSError as exc:
            raise _FileProblem(f"the file cannot be read: {exc.strerror or exc}") from None
        try:
            st = os.fstat(fd)
            if st.st_size != row.size:
                raise _FileProblem(
                    f"the file on disk changed ({st.st_size} bytes, {row.size} when queued); "
                    "it is not sent"
                )
            key = (row.path, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
            with self._verified_lock:
                known = self._verified.get(key)
            if again or known != row.sha256:
                if _sha256_of(fd, row.size) != row.sha256:
                    raise _FileProblem(
                        "the file on disk no longer matches the SHA-256 it was queued with; "
                        "it is not sent"
                    )
                with self._verified_lock:
                    self._verified[key] = row.sha256
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _send(self, row: UploadRow, fd: int, tus: TusClient, ctx: _Run) -> None:
        meta = {
            "sha256": row.sha256,
            "patient_id": row.patient_id or "",
            "kind": row.kind,
            "filename": row.filename,
        }
        url, offset = row.url, None
        failures = 0
        ctx.at(row, row.offset)
        while True:
            ctx.check()
            final = False
            try:
                if url is None:
                    created = tus.create(row.size, meta)
                    url, offset = created.url, created.offset
                    self.repo.save_location(row.id, url, offset)
                    if created.already_stored:
                        self.repo.mark_done(row.id)
                        ctx.count(done=1, already_stored=1)
                        return
                if offset is None:
                    offset = tus.offset(url)
                    self.repo.save_offset(row.id, offset)
                ctx.at(row, offset)
                n = min(self.sizer.size, row.size - offset)
                body = FileSlice(fd, offset, n, on_sent=lambda k: ctx.sent(row, k))
                started = time.monotonic()
                # The last chunk's success is the server's word that the whole file
                # arrived with its SHA-256; an empty one confirms a file whose last
                # answer was lost.
                final = offset + n == row.size
                new = tus.patch(url, body, final=final)
                self.sizer.record(n, time.monotonic() - started)
                offset, failures = new, 0
                ctx.at(row, offset)
                if offset >= row.size:
                    self.repo.mark_done(row.id)
                    ctx.count(done=1)
                    return
                self.repo.save_offset(row.id, offset)
            except UploadGone:
                # Expired or removed on the server: start again with a new upload.
                url, offset = None, None
                self.repo.save_location(row.id, None, 0)
                failures += 1
                if failures >= self.max_failures:
                    raise TransientError("the server keeps losing this upload") from None
            except TransientError as exc:
                failures += 1
                ctx.count(interruptions=1)
                if isinstance(exc, ChecksumMismatch) and final:
                    # The server discarded the upload: is the file still the one queued?
                    os.close(self._open_verified(row, again=True))
                if failures >= self.max_failures:
                    raise
                self.sizer.shrink()
                delay = min(RETRY_AFTER_CAP_S, max(exc.retry_after, 0.25 * 2 ** (failures - 1)))
                ctx.wait(delay)
                offset = None  # ask the server where it stands
