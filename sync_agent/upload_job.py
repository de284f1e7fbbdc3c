"""Upload: the queue of images to the cloud over tus, smallest first, two at a time.

Each file is checked against the SHA-256 it was queued with before any byte of it
goes out (a file that changed is marked failed, never sent). A file is resumed from
the server's offset — asked with HEAD after any error, and at every start, so a
restart of the agent or of the PC resumes rather than restarts; a new upload is
created only when the server no longer knows the old one (404/410). A file counts as
done only when the server confirmed the whole of it: the last PATCH succeeded (the
server checks the SHA-256 on the last byte; a server without the checksum extension is
asked through the sync API whether it holds the file) or creation answered "already
stored".

Threads: `run()` is called from the agent's loop and returns when nothing waits, the
time budget is spent, `stop` is set, or the link fails too often in a row; its
workers are joined before it returns. Database writes go through UploadsRepo.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from app.imaging.errors import ImagingError
from app.imaging.sealed import Blob, open_blob
from app.store.sync.uploads_repo import UploadRow, UploadsRepo
from sync_agent.client import AuthError, RejectedError, TransientError
from sync_agent.tus_client import (
    BLOCK,
    CONNECT_TIMEOUT_S,
    READ_TIMEOUT_S,
    FileMismatch,
    FileSlice,
    TusClient,
    UploadGone,
)
from sync_agent.upload_pace import ChunkSizer, mb, rate, stalled_words, time_left

KIB, MIB = 1024, 1024 * 1024
WORKERS = 2
MAX_FAILURES = 5  # in a row without progress, before waiting for the agent's backoff
RETRY_AFTER_CAP_S = 30.0
# An upload whose server offset has not moved for this long says so in words.
STALLED_AFTER_S = 120.0
# How long to wait for the server to let go of an upload an abandoned request still
# holds (its body read timeout frees it), asking every LOCK_POLL_S.
LOCK_WAIT_S = 120.0
LOCK_POLL_S = 1.0
PROGRESS_EVERY_S = 0.25  # at most four state updates a second ...
BEAT_EVERY_S = 2.0  # ... and at least one every two, so the heartbeat stays fresh


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


class _Paused(Exception):
    """Stop between chunks: the agent stops, the budget is spent, or another worker
    met trouble. The file goes back to waiting; its URL and offset are kept."""


class _FileProblem(Exception):
    """The file on disk cannot be sent as queued."""


@dataclass
class _Flight:
    name: str
    done: int  # bytes the server confirmed
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
        """The server confirmed `offset` bytes; progress shown never goes back."""
        with self.lock:
            entry = self.flight.get(row.id)
            done = offset if entry is None else max(entry.done, offset)
            self.flight[row.id] = _Flight(row.filename, done, row.size)

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


def _sha256_of(blob: Blob, size: int) -> str:
    h = hashlib.sha256()
    pos = 0
    while pos < size:
        data = blob.read_at(pos, min(BLOCK, size - pos))
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
        self.stalled_after_s = STALLED_AFTER_S
        self.lock_wait_s = LOCK_WAIT_S
        # Across runs (an upload goes in slices): by upload id, the server's offset and
        # when it last moved, and the failures in a row since.
        self._moved: dict[int, tuple[int, float]] = {}
        self._failures: dict[int, int] = {}
        self._noted: set[int] = set()
        self._state_lock = threading.Lock()

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
            threading.Thread(
                target=self._worker, args=(ctx, i), name=f"upload-{i}", daemon=True
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
        self, ctx: _Run, last: tuple[object, ...] | None, last_at: float, force: bool = False
    ) -> tuple[tuple[object, ...] | None, float]:
        if self.on_progress is None:
            return last, last_at
        with ctx.lock:
            flight = sorted((e.name, e.done, e.size, i) for i, e in ctx.flight.items())
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
        if self._stalled(ids, now):
            return f"{names}: {stalled_words(done, total)}"
        text = f"{names}: {mb(done)} of {mb(total)}"
        speed = self.sizer.speed
        if speed:
            text += f", {rate(speed)}, {time_left((total - done) / speed)}"
        return text

    def _stalled(self, ids: list[int], now: float) -> bool:
        with self._state_lock:
            moved = [self._moved[i][1] for i in ids if i in self._moved]
        return bool(moved) and now - max(moved) >= self.stalled_after_s

    def _moved_to(self, row: UploadRow, offset: int) -> bool:
        """Note the server's offset; True when it moved on since last noted."""
        now = time.monotonic()
        with self._state_lock:
            before = self._moved.get(row.id)
            if before is None or offset > before[0]:
                self._moved[row.id] = (offset, now)
                self._failures.pop(row.id, None)
                return before is not None
            return False

    def _failed_once(self, row: UploadRow) -> int:
        with self._state_lock:
            n = self._failures.get(row.id, 0) + 1
            self._failures[row.id] = n
            return n

    def _note_trouble(self, row: UploadRow, offset: int | None) -> None:
        """The upload list says in words why an upload that does not move waits."""
        if not self._stalled([row.id], time.monotonic()):
            return
        with self._state_lock:
            done = self._moved.get(row.id, (offset or 0, 0.0))[0]
            self._noted.add(row.id)
        self.repo.note(row.id, stalled_words(done, row.size))

    def _clear_note(self, row: UploadRow) -> None:
        with self._state_lock:
            if row.id not in self._noted:
                return
            self._noted.discard(row.id)
        self.repo.note(row.id, None)

    def _forget(self, row: UploadRow) -> None:
        with self._state_lock:
            self._moved.pop(row.id, None)
            self._failures.pop(row.id, None)
            self._noted.discard(row.id)

    def _worker(self, ctx: _Run, index: int = 0) -> None:
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
            fd.close()
            ctx.landed(row)

    # One file -------------------------------------------------------------------------
    def _open_verified(self, row: UploadRow, again: bool = False) -> Blob:
        """The file opened for reads at offsets (decrypted as it is read when the image
        store is sealed); it has the queued size and SHA-256."""
        try:
            fd = open_blob(row.path)
        except OSError as exc:
            raise _FileProblem(f"the file cannot be read: {exc.strerror or exc}") from None
        except ImagingError as exc:
            raise _FileProblem(f"the file cannot be read: {exc}") from None
        try:
            if fd.size != row.size:
                raise _FileProblem(
                    f"the file on disk changed ({fd.size} bytes, {row.size} when queued); "
                    "it is not sent"
                )
            key = (row.path, *fd.identity())
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
            fd.close()
            raise
        return fd

    def _send(self, row: UploadRow, fd: Blob, tus: TusClient, ctx: _Run) -> None:  # noqa: PLR0915
        meta = {
            "sha256": row.sha256,
            "patient_id": row.patient_id or "",
            "kind": row.kind,
            "filename": row.filename,
        }
        url, offset = row.url, None
        ctx.at(row, row.offset)
        self._moved_to(row, row.offset)
        while True:
            ctx.check()
            final = False
            try:
                if url is None:
                    created = tus.create(row.size, meta)
                    url, offset = created.url, created.offset
                    self.repo.save_location(row.id, url, offset)
                    if created.already_stored:
                        self._done(row, ctx, already=True)
                        return
                if offset is None:
                    offset = self._free_offset(tus, url, ctx)
                    self.repo.save_offset(row.id, offset)
                    self._progress(row, offset, ctx)
                n = min(self.sizer.size, row.size - offset)
                body = FileSlice(fd, offset, n, on_sent=ctx.sent, block=self.sizer.block())
                started = time.monotonic()
                # The last chunk's success is the server's word that the whole file
                # arrived with its SHA-256; an empty one confirms a file whose last
                # answer was lost.
                final = offset + n == row.size
                after = min(self.sizer.size, row.size - offset - n)
                new = tus.patch(
                    url, body, final=final, speed=self.sizer.speed, next_length=after
                )
                self.sizer.record(n, time.monotonic() - started)
                offset = new
                if offset >= row.size:
                    if not tus.capabilities().checksum and not tus.stored(row.sha256):
                        # A server that checks no checksum: the sync API vouches.
                        raise FileMismatch("the server does not hold the image it took")
                    self._done(row, ctx)
                    return
                self.repo.save_offset(row.id, offset)
                self._progress(row, offset, ctx)
            except UploadGone:
                # Expired or removed on the server: start again with a new upload.
                url, offset = None, None
                self.repo.save_location(row.id, None, 0)
                if self._failed_once(row) >= self.max_failures:
                    raise TransientError("the server keeps losing this upload") from None
            except TransientError as exc:
                failures = self._failed_once(row)
                ctx.count(interruptions=1)
                if isinstance(exc, FileMismatch):
                    # The upload is void: is the file still the one queued? Then anew.
                    self._open_verified(row, again=True).close()
                    url = None
                    self.repo.save_location(row.id, None, 0)
                self._note_trouble(row, offset)
                if failures >= self.max_failures:
                    raise
                self.sizer.shrink()
                delay = min(RETRY_AFTER_CAP_S, max(exc.retry_after, 0.25 * 2 ** (failures - 1)))
                ctx.wait(delay)
                offset = None  # ask the server where it stands (or create anew)

    def _progress(self, row: UploadRow, offset: int, ctx: _Run) -> None:
        ctx.at(row, offset)
        if self._moved_to(row, offset):
            self._clear_note(row)

    def _done(self, row: UploadRow, ctx: _Run, already: bool = False) -> None:
        self.repo.mark_done(row.id)
        ctx.at(row, row.size)
        self._forget(row)
        ctx.count(done=1, already_stored=int(already))

    def _free_offset(self, tus: TusClient, url: str, ctx: _Run) -> int:
        """The server's offset once no request writes the upload any more: a body sent
        while an abandoned one still arrives would only meet 423."""
        end = time.monotonic() + self.lock_wait_s
        while True:
            state = tus.head(url)
            if not state.busy:
                return state.offset
            if time.monotonic() >= end:
                raise TransientError("the server is still receiving an earlier attempt")
            ctx.wait(LOCK_POLL_S)
