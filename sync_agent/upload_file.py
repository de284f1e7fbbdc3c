"""One file's upload over tus: checked against the SHA-256 it was queued with, resumed
from the server's offset, and done only when the server confirmed the whole of it.

A file that changed on disk is marked failed, never sent. The offset is asked with HEAD
after any error and at every start, so a restart resumes rather than restarts; a new
upload is created only when the server no longer knows the old one (404/410). The last
PATCH's success is the server's word that the whole file arrived with its SHA-256 (a
server without the checksum extension is asked through the sync API whether it holds
the file), as is a creation answered "already stored".

Threads: a FileSender is shared by a run's workers, each sending its own file.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field

from app.imaging.errors import ImagingError
from app.imaging.sealed import Blob, open_blob
from app.store.sync.uploads_repo import UploadRow, UploadsRepo
from sync_agent.client import AuthError, RejectedError, TransientError
from sync_agent.tus_client import BLOCK, FileMismatch, FileSlice, TusClient, UploadGone
from sync_agent.upload_pace import ChunkSizer
from sync_agent.upload_run import Paused, UploadRun
from sync_agent.upload_stalls import Stalls

RETRY_AFTER_CAP_S = 30.0
# How long to wait for the server to let go of an upload an abandoned request still
# holds (its body read timeout frees it), asking every LOCK_POLL_S.
LOCK_WAIT_S = 120.0
LOCK_POLL_S = 1.0


class FileProblem(Exception):
    """The file on disk cannot be sent as queued."""


def sha256_of(blob: Blob, size: int) -> str:
    h = hashlib.sha256()
    pos = 0
    while pos < size:
        data = blob.read_at(pos, min(BLOCK, size - pos))
        if not data:
            break
        h.update(data)
        pos += len(data)
    return h.hexdigest()


@dataclass
class VerifiedFiles:
    """(path, device, inode, size, mtime) -> SHA-256 of files read whole already, so
    that resuming a large file does not hash it again each time. Thread-safe."""

    known: dict[tuple[str, int, int, int, int], str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def sha256(self, key: tuple[str, int, int, int, int]) -> str | None:
        with self.lock:
            return self.known.get(key)

    def remember(self, key: tuple[str, int, int, int, int], sha: str) -> None:
        with self.lock:
            self.known[key] = sha


@dataclass
class FileSender:
    repo: UploadsRepo
    sizer: ChunkSizer
    stalls: Stalls
    verified: VerifiedFiles
    max_failures: int
    lock_wait_s: float = LOCK_WAIT_S

    def one(self, row: UploadRow, tus: TusClient, ctx: UploadRun) -> None:
        """Send one claimed file; whatever happens, it leaves the claim marked done,
        failed with the reason, or waiting again. AuthError and trouble that is not
        the file's propagate, for the run to stop."""
        try:
            fd = self.open_verified(row)
        except FileProblem as exc:
            self.repo.mark_failed(row.id, str(exc))
            ctx.count(failed=1)
            return
        try:
            self._send(row, fd, tus, ctx)
        except Paused:
            self.repo.release(row.id)
        except AuthError as exc:  # a RejectedError, but the computer's, not the file's
            self.repo.release(row.id, str(exc))
            raise
        except (FileProblem, RejectedError) as exc:
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

    def open_verified(self, row: UploadRow, again: bool = False) -> Blob:
        """The file opened for reads at offsets (decrypted as it is read when the image
        store is sealed); it has the queued size and SHA-256."""
        try:
            fd = open_blob(row.path)
        except OSError as exc:
            raise FileProblem(f"the file cannot be read: {exc.strerror or exc}") from None
        except ImagingError as exc:
            raise FileProblem(f"the file cannot be read: {exc}") from None
        try:
            if fd.size != row.size:
                raise FileProblem(
                    f"the file on disk changed ({fd.size} bytes, {row.size} when queued); "
                    "it is not sent"
                )
            key = (row.path, *fd.identity())
            if again or self.verified.sha256(key) != row.sha256:
                if sha256_of(fd, row.size) != row.sha256:
                    raise FileProblem(
                        "the file on disk no longer matches the SHA-256 it was queued with; "
                        "it is not sent"
                    )
                self.verified.remember(key, row.sha256)
        except BaseException:
            fd.close()
            raise
        return fd

    def _send(self, row: UploadRow, fd: Blob, tus: TusClient, ctx: UploadRun) -> None:
        meta = {
            "sha256": row.sha256,
            "patient_id": row.patient_id or "",
            "kind": row.kind,
            "filename": row.filename,
        }
        url, offset = row.url, None
        ctx.at(row, row.offset)
        self.stalls.moved_to(row, row.offset)
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
                if self.stalls.failed_once(row) >= self.max_failures:
                    raise TransientError("the server keeps losing this upload") from None
            except TransientError as exc:
                if self._interrupted(row, exc, offset, ctx):
                    url = None
                offset = None  # ask the server where it stands (or create anew)

    def _interrupted(self, row: UploadRow, exc: TransientError, offset: int | None,
                     ctx: UploadRun) -> bool:
        """After a request that failed: wait before the next try, or raise `exc` when
        this upload failed too often in a row. True when the upload is void and is to
        be created anew."""
        failures = self.stalls.failed_once(row)
        ctx.count(interruptions=1)
        void = isinstance(exc, FileMismatch)
        if void:
            # Is the file still the one queued? Then anew.
            self.open_verified(row, again=True).close()
            self.repo.save_location(row.id, None, 0)
        self.stalls.note_trouble(row, offset)
        if failures >= self.max_failures:
            raise exc
        self.sizer.shrink()
        ctx.wait(min(RETRY_AFTER_CAP_S, max(exc.retry_after, 0.25 * 2 ** (failures - 1))))
        return void

    def _progress(self, row: UploadRow, offset: int, ctx: UploadRun) -> None:
        ctx.at(row, offset)
        if self.stalls.moved_to(row, offset):
            self.stalls.clear_note(row)

    def _done(self, row: UploadRow, ctx: UploadRun, already: bool = False) -> None:
        self.repo.mark_done(row.id)
        ctx.at(row, row.size)
        self.stalls.forget(row)
        ctx.count(done=1, already_stored=int(already))

    def _free_offset(self, tus: TusClient, url: str, ctx: UploadRun) -> int:
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
