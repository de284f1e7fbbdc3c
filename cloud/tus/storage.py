"""Part files of uploads in progress, their locks, and streaming a body to disk.

An upload's offset is the size of its part file ``<uploads>/<id>.part``: what is on
disk is what counts, across requests, processes and restarts. Its bytes are encrypted
as they are written (cloud.tus.part_seal: length-preserving, a key per write), so a
copied disk shows nothing of an upload in progress. A chunk is written in
place as it arrives and hashed on the way; one that fails its checksum is cut back
off. A request that writes holds an exclusive `flock` on the part file, so two PATCHes
racing on one upload can not interleave (the second gets 423), also across server
processes on one host.

Several nodes (processes on several machines, one PostgreSQL): the part files live in
one folder shared by all of them (`CHAIRSIDE_CLOUD_UPLOAD_DIR`, e.g. an NFS mount),
beside the upload's row in the database (length, metadata, expiry, completion); the
part keys in `<id>.keys` are wrapped with the master key, which all nodes share
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
import os
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from anyio import to_thread

from cloud.crud import Refused
from cloud.tus.part_seal import PartSeal, PlainReader, keys_path
from cloud.tus.protocol import Checksum

FSYNC_EVERY = 8 * 1024 * 1024
_HASH_CACHE_SIZE = 256
# upload id -> (offset, running sha256 of the part file up to offset)
_hashers: OrderedDict[str, tuple[int, Any]] = OrderedDict()


def part_path(folder: Path, upload_id: str) -> Path:
    return folder / f"{upload_id}.part"


def _chunk_path(folder: Path, upload_id: str) -> Path:
    return folder / f"{upload_id}.chunk"


def create_part(folder: Path, upload_id: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(part_path(folder, upload_id), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.fsync(fd)
    os.close(fd)


def unverified_journal(folder: Path, upload_id: str) -> Path:
    return folder / f"{upload_id}.unverified"


def _unverified_from(folder: Path, upload_id: str) -> int | None:
    """Where a checksummed chunk being written (or cut short by a crash) began."""
    try:
        return int(unverified_journal(folder, upload_id).read_text())
    except (FileNotFoundError, ValueError):
        return None


def part_size(folder: Path, upload_id: str) -> int | None:
    """The upload's offset: the part file's size, less a chunk not verified yet."""
    try:
        size = part_path(folder, upload_id).stat().st_size
    except FileNotFoundError:
        return None
    start = _unverified_from(folder, upload_id)
    return size if start is None else min(size, start)


def recover(folder: Path, upload_id: str, fd: int) -> int:
    """Under the lock: cut off what a process that died mid-chunk left unverified;
    the offset."""
    start = _unverified_from(folder, upload_id)
    if start is not None:
        if os.fstat(fd).st_size > start:
            os.ftruncate(fd, start)
            os.fsync(fd)
        unverified_journal(folder, upload_id).unlink(missing_ok=True)
    return os.fstat(fd).st_size


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
    _chunk_path(folder, upload_id).unlink(missing_ok=True)
    unverified_journal(folder, upload_id).unlink(missing_ok=True)
    _hashers.pop(upload_id, None)


def _hash_file(fd: int, length: int, seal: PartSeal) -> Any:
    h = hashlib.sha256()
    pos = 0
    while pos < length:
        block = os.pread(fd, min(4 * 1024 * 1024, length - pos), pos)
        if not block:
            break
        h.update(seal.crypt(block, pos))
        pos += len(block)
    return h


async def running_hash(upload_id: str, fd: int, offset: int, seal: PartSeal) -> Any:
    """sha256 of the first `offset` bytes (their plaintext), from memory when this
    process wrote them."""
    cached = _hashers.get(upload_id)
    if cached is not None and cached[0] == offset:
        return cached[1].copy()
    return await to_thread.run_sync(_hash_file, fd, offset, seal)


def plaintext(fd: int, seal: PartSeal, length: int) -> PlainReader:
    """The part's plaintext as a stream, for the blob store (which seals it again)."""
    return PlainReader(fd, seal, length)


def remember_hash(upload_id: str, offset: int, h: Any) -> None:
    _hashers[upload_id] = (offset, h)
    _hashers.move_to_end(upload_id)
    while len(_hashers) > _HASH_CACHE_SIZE:
        _hashers.popitem(last=False)


class _Writer:
    """Seals, writes and hashes a body batch by batch on a worker thread, one batch in
    flight while the event loop reads the next: the socket keeps being read while the
    bytes before are sealed, hashed and synced (hashlib, the cipher and the write
    release the GIL on buffers this large). Batches run one after the other, in order;
    only the worker touches the file, the seal and the hashers meanwhile."""

    def __init__(self, fd: int, start: int, seal: PartSeal, hashers: tuple[Any, ...]) -> None:
        self.fd, self.seal, self.hashers = fd, seal, hashers
        self.position = start
        self.unsynced = 0
        self.flight: asyncio.Future[None] | None = None

    def write(self, data: bytes) -> None:
        view = memoryview(self.seal.crypt(data, self.position))
        position = self.position
        while view:
            n = os.pwrite(self.fd, view, position)
            view, position = view[n:], position + n
        for h in self.hashers:
            h.update(data)
        self.position += len(data)
        self.unsynced += len(data)
        if self.unsynced >= FSYNC_EVERY:
            os.fsync(self.fd)
            self.unsynced = 0

    async def submit(self, data: bytes) -> None:
        await self.drain()
        self.flight = asyncio.get_running_loop().run_in_executor(None, self.write, data)

    async def drain(self) -> None:
        """Wait for the batch in flight; its error is raised. Cancelled meanwhile, the
        batch stays in flight for `settle`."""
        flight = self.flight
        if flight is not None:
            await asyncio.shield(flight)
            self.flight = None

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


async def receive(
    stream: AsyncIterator[bytes], fd: int, *, start: int, limit: int, h: Any,
    seal: PartSeal, checksum: Checksum | None = None, journal: Path | None = None,
) -> tuple[int, Any]:
    """Write a request body in place at `start` of the file `fd` (now `start` bytes
    long), hashing it as it arrives; return how many bytes were appended, durably
    (fsync) before returning, and the sha256 of the whole file now.

    Without a checksum `h` (the sha256 of the file so far) is updated in place, also
    with what arrived of an interrupted body, which is kept (and fsynced) and the
    interruption re-raised; after a refusal `h` is spoilt. With one, `h` is left as it
    was, and a chunk that does not match (460), is cut short or refused is cut back
    off the file: only verified chunks stay. While such a chunk arrives, `journal`
    holds `start`, so that the offset never counts it and a process killed meanwhile
    leaves it to be cut off (`recover`). A body longer than `limit` is refused whole
    (413), the file cut back to `start`.
    """
    if checksum is not None and journal is not None:
        journal.write_text(str(start))
    seal.begin(start)
    whole = h if checksum is None else h.copy()
    ck = checksum.hasher() if checksum is not None else None
    writer = _Writer(fd, start, seal, (whole,) if ck is None else (whole, ck))
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
        except BaseException:
            if await writer.settle() and ck is None and pending:
                # keep what arrived of an interrupted body
                await to_thread.run_sync(writer.write, b"".join(pending))
            raise
        if pending:
            await writer.submit(b"".join(pending))
        await writer.drain()
        if ck is not None and checksum is not None and ck.digest() != checksum.digest:
            raise Refused(460, f"Upload-Checksum ({checksum.algorithm}) does not match the "
                          "chunk; it was discarded")
    except Refused:
        await writer.settle()
        os.ftruncate(fd, start)
        await to_thread.run_sync(os.fsync, fd)
        _done_with(journal)
        raise
    except BaseException:
        await writer.settle()
        if ck is not None:  # an unverified chunk leaves nothing behind
            os.ftruncate(fd, start)
        os.fsync(fd)  # keep what arrived of an interrupted body
        _done_with(journal)
        raise
    await to_thread.run_sync(os.fsync, fd)
    _done_with(journal)
    return writer.position - start, whole


def _done_with(journal: Path | None) -> None:
    if journal is not None:
        journal.unlink(missing_ok=True)


def forget_hash(upload_id: str) -> None:
    _hashers.pop(upload_id, None)
