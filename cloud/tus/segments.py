"""An upload's part file, kept in the blob store's sealed format as it arrives.

The part file `<id>.part` is what the blob will be (app.platform.sealed: a header with a
data key of its own wrapped with the master key, then AES-256-GCM segments of 64 KiB):
each segment is sealed as soon as its last byte arrived, the one carrying the last flag
once the upload's last byte did (its length is known from creation). So the finished
upload moves into the folder blob store by a rename, instead of a second pass that
decrypts, seals and writes the whole file again.

A segment is sealed once and never rewritten: its nonce is its index, so other bytes
sealed under it would reuse a nonce. The bytes after the last whole segment (fewer than
64 KiB, when a chunk does not end on a segment boundary) wait in a tail file
`<id>.tail<n>` (n: the segment they belong to), encrypted by cloud.tus.part_seal (a
fresh CTR key per write). A tail that belongs to a later segment gets a new file, so the
one before stays whole until a checksummed chunk was verified and can be gone back to.

The upload's offset is thus the sealed segments' plaintext plus the tail's size.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap, aes_key_wrap

from app.platform import sealed
from app.platform.files import fsync_dir
from cloud.tus.part_seal import PartSeal

SEGMENT = sealed.SEGMENT
WHOLE = sealed.SEGMENT + sealed.TAG  # a sealed segment on disk
HEADER = sealed.HEADER
_KID = slice(len(sealed.MAGIC), len(sealed.MAGIC) + sealed.KEY_ID)
_WRAPPED = slice(_KID.stop, _KID.stop + sealed.WRAPPED)
_RUN = 16  # segments read at once when the part is read back


def header(master: bytes) -> bytes:
    """The header of a new part: a fresh data key, wrapped with the master key."""
    return (sealed.MAGIC + sealed.key_id(master) + aes_key_wrap(master, sealed.new_key())
            + secrets.token_bytes(sealed.PREFIX))


def final_index(length: int) -> int:
    """The index of an upload's last segment (an empty upload has one, empty)."""
    return max(length - 1, 0) // SEGMENT


def tail_path(folder: Path, upload_id: str, segment: int) -> Path:
    return folder / f"{upload_id}.tail{segment}"


def scan(size: int, length: int) -> tuple[int, bool]:
    """(segments whole on disk in a part file of `size` bytes, whether the last one is
    among them); a segment cut short by a crash does not count."""
    last = final_index(length)
    body = max(size - HEADER, 0)
    if body >= last * WHOLE + (length - last * SEGMENT) + sealed.TAG:
        return last + 1, True
    return min(body // WHOLE, last), False


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def offset(folder: Path, upload_id: str, length: int, part_size: int) -> int:
    segments, complete = scan(part_size, length)
    if complete:
        return length
    tail = min(_size(tail_path(folder, upload_id, segments)), SEGMENT - 1)
    return min(segments * SEGMENT + tail, length)


class DamagedSegment(ValueError):
    """A sealed segment that does not verify: its bytes never reached the disk whole (a
    power cut after the chunk was answered, before the writes were flushed)."""


class StalePart(ValueError):
    """A part written before uploads were sealed segment by segment (by an older
    server): it can not go on, the upload starts again."""


@dataclass
class Part:
    """An upload's part file, open and locked, with what reads and writes it."""

    folder: Path
    upload_id: str
    fd: int
    length: int
    master: bytes

    def __post_init__(self) -> None:
        self.seal = PartSeal(self.folder, self.upload_id, self.master)
        head = os.pread(self.fd, HEADER, 0)
        if len(head) < HEADER or not head.startswith(sealed.MAGIC):
            raise StalePart("the upload's part file is not in the sealed format")
        if head[_KID] != sealed.key_id(self.master):
            raise ValueError("the upload's part file is under another key")
        self.aead = AESGCM(aes_key_unwrap(self.master, head[_WRAPPED]))
        self.prefix = head[HEADER - sealed.PREFIX:HEADER]

    def nonce(self, index: int) -> bytes:
        last = index == final_index(self.length)
        return self.prefix + index.to_bytes(4, "big") + (b"\x01" if last else b"\x00")

    def offset(self) -> int:
        return offset(self.folder, self.upload_id, self.length, os.fstat(self.fd).st_size)

    def tail(self, segment: int, upto: int) -> bytes:
        """The plaintext of the tail of `segment`, its first `upto` bytes."""
        if upto <= 0:
            return b""
        with open(tail_path(self.folder, self.upload_id, segment), "rb") as f:
            data = f.read(upto)
        return self.seal.crypt(data, segment * SEGMENT)

    def plaintext(self) -> Iterator[bytes]:
        """What arrived so far, decrypted (to hash it again after a restart, or to hand
        it to a store that seals on its own)."""
        segments, complete = scan(os.fstat(self.fd).st_size, self.length)
        for first in range(0, segments, _RUN):
            count = min(_RUN, segments - first)
            run = os.pread(self.fd, count * WHOLE, HEADER + first * WHOLE)
            for i in range(count):
                try:
                    yield self.aead.decrypt(self.nonce(first + i),
                                            run[i * WHOLE:(i + 1) * WHOLE], None)
                except InvalidTag:
                    raise DamagedSegment("a sealed segment of the upload is damaged") from None
        if not complete:
            at = self.offset() - segments * SEGMENT
            if at:
                yield self.tail(segments, at)

    def cut_back(self, start: int) -> None:
        """Back to `start` (the offset before a chunk): the segments sealed after it
        and the tails of later segments go; the tail of its own segment stays as it
        was then (a chunk writes it only once verified)."""
        segment, rest = divmod(start, SEGMENT)
        size = os.fstat(self.fd).st_size
        if start < self.length or not scan(size, self.length)[1]:
            on_disk = scan(size, self.length)[0]
            if size > HEADER + segment * WHOLE:
                os.ftruncate(self.fd, HEADER + segment * WHOLE)
            for later in range(segment + 1, on_disk + 2):
                tail_path(self.folder, self.upload_id, later).unlink(missing_ok=True)
            own = tail_path(self.folder, self.upload_id, segment)
            if _size(own) > rest:
                os.truncate(own, rest)
        os.fsync(self.fd)


def _pwrite_all(fd: int, blocks: list[bytes], at: int) -> None:
    while blocks:
        n = os.pwritev(fd, blocks, at)
        at += n
        while blocks and n >= len(blocks[0]):
            n -= len(blocks[0])
            blocks = blocks[1:]
        if blocks and n:
            blocks[0] = blocks[0][n:]


class SegmentWriter:
    """Seals a body into the part as it arrives (call from one thread at a time):
    whole segments are appended at once, the rest waits in memory until more comes
    or `write_tail` puts it in the tail file."""

    def __init__(self, part: Part, start: int, hashers: tuple[Any, ...]) -> None:
        self.part, self.hashers = part, hashers
        self.start = self.position = start
        self.segment = start // SEGMENT
        self.first_segment = self.segment
        self.last = final_index(part.length)
        self.complete = start == part.length and scan(os.fstat(part.fd).st_size,
                                                      part.length)[1]
        self.buf = bytearray() if self.complete else \
            bytearray(part.tail(self.segment, start - self.segment * SEGMENT))
        self.unsynced = 0

    def write(self, data: bytes | bytearray) -> None:
        for h in self.hashers:
            h.update(data)
        self.buf += data
        self.position += len(data)
        self.unsynced += len(data)
        self.seal_ready()

    def seal_ready(self) -> None:
        """Seal every segment whose bytes are all here (the last one once the upload's
        last byte is: an empty upload's at once)."""
        part, blocks = self.part, []
        at = HEADER + self.segment * WHOLE
        view = memoryview(self.buf)
        used = 0
        while not self.complete:
            size = SEGMENT if self.segment < self.last else \
                part.length - self.last * SEGMENT
            if len(view) - used < size:
                break
            blocks.append(part.aead.encrypt(part.nonce(self.segment),
                                            view[used:used + size], None))
            used += size
            self.complete = self.segment == self.last
            self.segment += 1
        view.release()
        if blocks:
            del self.buf[:used]
            _pwrite_all(part.fd, blocks, at)

    def write_tail(self) -> None:
        """Put the bytes waiting for the rest of their segment in its tail file,
        durably: appended to the tail the chunk began in, or a new one."""
        if self.complete or not self.buf:
            return
        part = self.part
        base = self.segment * SEGMENT
        path = tail_path(part.folder, part.upload_id, self.segment)
        kept = self.start - base if self.segment == self.first_segment else 0
        if kept == len(self.buf):
            return
        part.seal.begin(base + kept)  # a fresh key for the bytes written now
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            os.ftruncate(fd, kept)
            data = part.seal.crypt(bytes(self.buf[kept:]), base + kept)
            os.pwrite(fd, data, kept)
            os.fsync(fd)
        finally:
            os.close(fd)
        if not kept:
            fsync_dir(part.folder)

    def drop_old_tail(self) -> None:
        """Once the chunk counts: the tail it began in, if it sealed that segment."""
        if self.segment != self.first_segment:
            tail_path(self.part.folder, self.part.upload_id,
                      self.first_segment).unlink(missing_ok=True)


def remove_tails(folder: Path, upload_id: str) -> None:
    for path in folder.glob(f"{upload_id}.tail*"):
        path.unlink(missing_ok=True)
