"""Part files of uploads in progress, their locks, and streaming a body to disk.

An upload's part `<uploads>/<id>.part` is written in the blob store's sealed format as
it arrives (cloud.tus.segments: whole 64 KiB segments sealed at once, a ragged end kept
encrypted in a tail file until its segment is whole), hashed on the way, so that a
copied disk shows nothing of an upload in progress and the finished part moves into
the folder store by a rename, its SHA-256 checked from the running hash. What is on
disk is what counts, across requests, processes and restarts: the offset is what the
part holds (after a power cut, what of it verifies: only the last chunk is synced
before its answer). A chunk that fails its checksum is cut back off. A request that writes
holds an exclusive `flock` on the part file, so two PATCHes racing on one upload can
not interleave (the second gets 423), also across server processes on one host.

Several nodes (processes on several machines, one PostgreSQL): the part files live in
one folder shared by all of them (`CHAIRSIDE_CLOUD_UPLOAD_DIR`, e.g. an NFS mount),
beside the upload's row in the database (length, metadata, expiry, completion); their
keys are wrapped with the master key, which all nodes share
(`CHAIRSIDE_CLOUD_BLOB_KEY`). So HEAD and PATCH of an upload work on any node. The
lock is then a PostgreSQL advisory lock (cloud.tus.upload_lock) instead of the flock,
which a network filesystem does not reliably share. The verified file goes to the blob
store (S3 or a folder) once, by the node that received its last byte.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import io
import os
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, cast

from anyio import to_thread

from cloud.blobstore import BlobStore
from cloud.crud import Refused
from cloud.tus import segments
from cloud.tus.part_seal import keys_path
from cloud.tus.protocol import Checksum
from cloud.tus.segments import Part, SegmentWriter

FSYNC_EVERY = 2 * 1024 * 1024  # written, then its writeback started
_HASH_CACHE_SIZE = 256
# upload id -> (offset, running sha256 of the upload's plaintext up to offset)
_hashers: OrderedDict[str, tuple[int, Any]] = OrderedDict()


def part_path(folder: Path, upload_id: str) -> Path:
    return folder / f"{upload_id}.part"


def _chunk_path(folder: Path, upload_id: str) -> Path:
    return folder / f"{upload_id}.chunk"  # left by servers before chunks went in place


def create_part(folder: Path, upload_id: str, master: bytes) -> None:
    """The part file of a new upload: the sealed header, no segment yet."""
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(part_path(folder, upload_id), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, segments.header(master))
        os.fsync(fd)
    finally:
        os.close(fd)


def unverified_journal(folder: Path, upload_id: str) -> Path:
    return folder / f"{upload_id}.unverified"


def _unverified_from(folder: Path, upload_id: str) -> int | None:
    """Where a checksummed chunk being written (or cut short by a crash) began."""
    try:
        return int(unverified_journal(folder, upload_id).read_text())
    except (FileNotFoundError, ValueError):
        return None


def part_size(folder: Path, upload_id: str, length: int) -> int | None:
    """The upload's offset: what its part holds, less a chunk not verified yet."""
    try:
        size = part_path(folder, upload_id).stat().st_size
    except FileNotFoundError:
        return None
    have = segments.offset(folder, upload_id, length, size)
    start = _unverified_from(folder, upload_id)
    return have if start is None else min(have, start)


def recover(part: Part) -> int:
    """Under the lock: cut off what a process that died mid-chunk left unverified, and
    a segment it left half written; the offset."""
    folder, upload_id = part.folder, part.upload_id
    start = _unverified_from(folder, upload_id)
    if start is not None:
        part.cut_back(min(start, part.offset()))
        unverified_journal(folder, upload_id).unlink(missing_ok=True)
    size = os.fstat(part.fd).st_size
    whole, complete = segments.scan(size, part.length)
    if not complete and size > segments.HEADER + whole * segments.WHOLE:
        os.ftruncate(part.fd, segments.HEADER + whole * segments.WHOLE)
        os.fsync(part.fd)
    return part.offset()


@contextmanager
def locked_part(folder: Path, upload_id: str, *, flock: bool = True) -> Iterator[int]:
    """The part file, open for writing and exclusively locked; 423 if it is busy,
    404 if it is gone. `flock=False`: the caller holds the lock across nodes
    (cloud.tus.upload_lock)."""
    path = part_path(folder, upload_id)
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        raise Refused(404, "unknown upload") from None
    try:
        try:
            if flock:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Refused(423, "another request is writing this upload; retry later") from None
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if not same:  # completed or terminated while we waited for the lock
            raise Refused(409, "the upload changed meanwhile; ask its offset with HEAD")
        yield fd
    finally:
        os.close(fd)


def is_busy(folder: Path, upload_id: str) -> bool:
    """Whether a request holds the part file's lock (a body still arriving). A shared
    probe, released at once: a PATCH that meets it in that instant gets a 423 and asks
    again, as for any other busy moment."""
    try:
        fd = os.open(part_path(folder, upload_id), os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing releases a lock it took
    return False


def remove_part(folder: Path, upload_id: str) -> None:
    part_path(folder, upload_id).unlink(missing_ok=True)
    keys_path(folder, upload_id).unlink(missing_ok=True)
    segments.remove_tails(folder, upload_id)
    _chunk_path(folder, upload_id).unlink(missing_ok=True)
    unverified_journal(folder, upload_id).unlink(missing_ok=True)
    _hashers.pop(upload_id, None)


def _hash_part(part: Part) -> Any:
    return _verified(part)[0]


def _verified(part: Part) -> tuple[Any, int]:
    """(sha256 of the part's plaintext, its offset), the part cut back before the first
    sealed segment that does not verify. A chunk is made durable only with the upload's
    last byte (its segments are authenticated, so what a power cut left half written
    is found here, and the client sends it again from the offset it is then told)."""
    h = hashlib.sha256()
    n = 0
    try:
        for block in part.plaintext():
            h.update(block)
            n += len(block)
    except segments.DamagedSegment:
        part.cut_back(n)  # n ends the last segment that verified
    return h, n


async def verified_hash(part: Part, offset: int) -> tuple[Any, int]:
    """(sha256 of the first `offset` bytes, `offset`) from memory when this process wrote
    them; else read back and verified (after a restart), remembered, and the offset the
    part holds after any damaged end was cut off."""
    cached = _hashers.get(part.upload_id)
    if cached is not None and cached[0] == offset:
        return cached[1].copy(), offset
    h, offset = await to_thread.run_sync(_verified, part)
    remember_hash(part.upload_id, offset, h)
    return h.copy(), offset


async def running_hash(part: Part, offset: int) -> Any:
    """sha256 of the first `offset` bytes (their plaintext), from memory when this
    process wrote them."""
    cached = _hashers.get(part.upload_id)
    if cached is not None and cached[0] == offset:
        return cached[1].copy()
    return await to_thread.run_sync(_hash_part, part)


def remember_hash(upload_id: str, offset: int, h: Any) -> None:
    _hashers[upload_id] = (offset, h)
    _hashers.move_to_end(upload_id)
    while len(_hashers) > _HASH_CACHE_SIZE:
        _hashers.popitem(last=False)


def store(blobs: BlobStore, sha256: str, part: Part) -> None:
    """Hand the complete, verified part to the blob store, then drop what is left of
    it (under its lock: a request that waited for it then finds it gone). The part is
    already the sealed blob, so the folder store under the same key takes it by a
    rename; any other store is given its plaintext (and seals it its own way)."""
    path = part_path(part.folder, part.upload_id)
    put_sealed = getattr(blobs, "put_sealed", None)
    if blobs.has(sha256):
        pass  # held already: the part simply goes
    elif put_sealed is None or not put_sealed(sha256, path):
        # read as a file is: read(n) gives bytes, b"" at the end
        blobs.put_stream(sha256, cast(BinaryIO, _Stream(part.plaintext())))
    remove_part(part.folder, part.upload_id)


class _Stream(io.RawIOBase):
    """Blocks of plaintext as a readable stream."""

    def __init__(self, blocks: Iterator[bytes]) -> None:
        self.blocks, self.left = blocks, b""

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        if not self.left:
            self.left = next(self.blocks, b"")
        n = min(len(b), len(self.left))
        b[:n] = self.left[:n]
        self.left = self.left[n:]
        return n


# The writes of bodies: a body's batches run one after the other, in order.
_WRITES = ThreadPoolExecutor(max_workers=16, thread_name_prefix="upload-write")


def _after(previous: Future[Any] | None, fn: Callable[..., Any], *args: Any) -> Any:
    """`fn(*args)` once the batch before it is done (queued before it, it already has a
    worker); its failure, raised, stops this one too."""
    if previous is not None:
        previous.result()
    return fn(*args)


class _Writer:
    """Seals, writes and hashes a body batch by batch on a worker thread, one batch in
    flight while the event loop reads the next: the socket keeps being read while the
    bytes before are sealed, hashed and synced (hashlib, the cipher and the write
    release the GIL on buffers this large). Batches run one after the other, in order;
    only the worker touches the file, the seal and the hashers meanwhile."""

    def __init__(self, part: Part, start: int, hashers: tuple[Any, ...]) -> None:
        self.segments = SegmentWriter(part, start, hashers)
        self.fd = part.fd
        self.since = os.fstat(part.fd).st_size  # what this request writes, on disk
        self.flight: asyncio.Future[Any] | None = None
        self._last: Future[Any] | None = None

    @property
    def position(self) -> int:
        return self.segments.position

    def write(self, data: bytes) -> None:
        self.segments.write(data)
        if self.segments.unsynced >= FSYNC_EVERY:
            _start_writeback(self.fd, self.since)
            self.segments.unsynced = 0

    def keep(self, durable: bool = True) -> None:
        """What arrived counts: the waiting bytes go to the tail (durably, as a tail's
        bytes are not authenticated), the sealed segments durably when `durable`."""
        self.segments.seal_ready()
        self.segments.write_tail()
        if durable:
            os.fsync(self.fd)

    def finish(self, data: bytes, ck: Any, digest: bytes | None) -> bool:
        """The last batch and, the chunk verified, `keep` (one trip to the worker);
        whether the chunk matched its checksum."""
        if data:
            self.write(data)
        if ck is not None and ck.digest() != digest:
            return False
        # Only the upload's last chunk is synced before its answer: the part then goes
        # into the store. A chunk before it needs no fsync to be safe: its segments are
        # authenticated, so after a power cut the offset is what verifies (_verified),
        # never more than the disk holds, and the client, which keeps its file until the
        # upload is complete, sends the rest again. Its writeback was started on the way.
        self.keep(durable=self.segments.complete)
        return True

    def queue(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run `fn(*args)` on a worker after the batch in flight."""
        self._last = _WRITES.submit(_after, self._last, fn, *args)
        self.flight = asyncio.wrap_future(self._last)

    async def submit(self, data: bytes) -> None:
        await self.drain()  # one batch in flight at most: the body waits in the socket
        self.queue(self.write, data)

    async def drain(self) -> Any:
        """Wait for the batch in flight; its error is raised, else its result returned.
        Cancelled meanwhile, the batch stays in flight for `settle`."""
        flight = self.flight
        if flight is not None:
            result = await asyncio.shield(flight)
            self.flight = None
            return result
        return None

    async def settle(self) -> bool:
        """Wait for the batch in flight whatever comes (also a cancellation: the file
        and the hashers are touched again only once the worker is done with them);
        whether every batch went well."""
        flight, self.flight = self.flight, None
        if flight is None:
            return True
        while not flight.done():
            with contextlib.suppress(BaseException):
                await asyncio.shield(flight)
        return flight.exception() is None


BATCH = 1024 * 1024


def _start_writeback(fd: int, since: int) -> None:
    """Have the kernel start writing what was written from `since` on, without waiting
    for it: the bytes reach the disk soon after they arrived, and the fsync that ends an
    upload waits only for its last batches, not for the whole body at once (Linux starts
    the writeback of dirty pages on this advice, and drops the pages already written,
    which nothing reads again; elsewhere an fsync does it, waiting)."""
    if hasattr(os, "posix_fadvise"):
        os.posix_fadvise(fd, since, 0, os.POSIX_FADV_DONTNEED)
    else:
        os.fsync(fd)


async def receive(  # noqa: C901
    stream: AsyncIterator[bytes], part: Part, *, start: int, h: Any,
    checksum: Checksum | None = None, journal: Path | None = None,
) -> tuple[int, Any]:
    """Seal a request body into the part at `start` (its offset now), hashing it as it
    arrives; return how many bytes were appended and the sha256 of the whole upload so
    far. The body that completes the upload is durable (fsync) before this returns; one
    before it is authenticated segment by segment instead (see `_verified`).

    Without a checksum `h` (the sha256 of the upload so far) is updated in place, also
    with what arrived of an interrupted body, which is kept (and fsynced) and the
    interruption re-raised; after a refusal `h` is spoilt. With one, `h` is left as it
    was, and a chunk that does not match (460), is cut short or refused is cut back
    off the part: only verified chunks stay. While such a chunk arrives, `journal`
    holds `start`, so that the offset never counts it and a process killed meanwhile
    leaves it to be cut off (`recover`). A body longer than the rest of the upload is
    refused whole (413), the part cut back to `start`.
    """
    if checksum is not None and journal is not None:
        journal.write_text(str(start))
    limit = part.length - start
    whole = h if checksum is None else h.copy()
    ck = checksum.hasher() if checksum is not None else None
    writer = _Writer(part, start, (whole,) if ck is None else (whole, ck))
    pending: list[bytes] = []
    received = queued = 0
    try:
        try:
            async for data in stream:
                if not data:
                    continue
                if received + len(data) > limit:
                    raise Refused(413, "the body is longer than the rest of Upload-Length; "
                                  "nothing of it was kept")
                pending.append(data)
                received += len(data)
                queued += len(data)
                if queued >= BATCH:
                    await writer.submit(b"".join(pending))
                    pending, queued = [], 0
        except Refused:
            raise
        except BaseException:
            if await writer.settle() and ck is None:
                # keep what arrived of an interrupted body
                await to_thread.run_sync(_keep, writer, b"".join(pending))
            raise
        # Queued behind the batch in flight, not after waiting for it: the worker goes on
        # to the last batch without a trip back to the event loop in between.
        writer.queue(writer.finish, b"".join(pending), ck,
                     checksum.digest if checksum is not None else None)
        if not await writer.drain():
            assert checksum is not None
            raise Refused(460, f"Upload-Checksum ({checksum.algorithm}) does not match the "
                          "chunk; it was discarded")
    except Refused:
        await writer.settle()
        await to_thread.run_sync(part.cut_back, start)
        _done_with(journal)
        raise
    except BaseException:
        await writer.settle()
        if ck is not None:  # an unverified chunk leaves nothing behind
            part.cut_back(start)
        _done_with(journal)
        raise
    _done_with(journal)
    writer.segments.drop_old_tail()
    return writer.position - start, whole


def _keep(writer: _Writer, rest: bytes) -> None:
    if rest:
        writer.write(rest)
    writer.keep()
    writer.segments.drop_old_tail()


def _done_with(journal: Path | None) -> None:
    if journal is not None:
        journal.unlink(missing_ok=True)


def forget_hash(upload_id: str) -> None:
    _hashers.pop(upload_id, None)
