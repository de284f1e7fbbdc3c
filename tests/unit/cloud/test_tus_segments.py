"""An upload's part is sealed segment by segment as it arrives, in the blob store's
format: whatever a killed server left, the restarted one finds a consistent offset, the
SHA-256 of what counts, and a finished part that opens as a sealed blob."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator, Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest

from app.platform import sealed
from cloud.crud import Refused
from cloud.tus import storage
from cloud.tus.protocol import parse_checksum
from cloud.tus.segments import HEADER, SEGMENT, WHOLE, Part, SegmentWriter, tail_path

CANARY = b"DOE^JANE-CANARY "
T = TypeVar("T")


async def _body(data: bytes, piece: int = 50_000) -> AsyncIterator[bytes]:
    for i in range(0, len(data), piece):
        yield data[i:i + piece]


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """The coroutine on a loop of its own, in a thread of its own: an earlier test of
    the run may have left this thread marked as running a loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _receive(part: Part, data: bytes, start: int, checksum: str | None = None) -> int:
    folder = part.folder
    h = _run(storage.running_hash(part, start))
    written, h = _run(storage.receive(
        _body(data), part, start=start, h=h,
        checksum=parse_checksum(checksum) if checksum else None,
        journal=storage.unverified_journal(folder, part.upload_id)))
    storage.remember_hash(part.upload_id, start + written, h)
    return written


def _sha256_header(data: bytes) -> str:
    import base64

    return "sha256 " + base64.b64encode(hashlib.sha256(data).digest()).decode()


def _restart(part: Part) -> Part:
    storage.forget_hash(part.upload_id)  # a new process: nothing in memory
    return Part(part.folder, part.upload_id, part.fd, part.length, part.master)


@pytest.fixture
def master() -> bytes:
    key = sealed.new_key()
    sealed.remember(key)
    return key


def test_a_killed_server_leaves_only_what_was_verified_and_the_part_ends_a_blob(
        tmp_path: Path, master: bytes) -> None:
    data = (CANARY * 40_000)[:600_007]  # nine segments and a ragged end
    storage.create_part(tmp_path, "u", master)
    with storage.locked_part(tmp_path, "u") as fd:
        part = Part(tmp_path, "u", fd, len(data), master)
        first = 100_000  # one segment sealed, the rest waits in its tail
        assert _receive(part, data[:first], 0) == first
        assert storage.part_size(tmp_path, "u", len(data)) == first
        assert os.fstat(fd).st_size == HEADER + WHOLE
        tail = tail_path(tmp_path, "u", 1)
        assert tail.stat().st_size == first - SEGMENT
        assert not any(CANARY in p.read_bytes() for p in tmp_path.iterdir())

        # Killed mid-chunk: a checksummed chunk sealed three more segments and wrote
        # its new tail, but its journal was still there (not verified yet).
        storage.unverified_journal(tmp_path, "u").write_text(str(first))
        writer = SegmentWriter(part, first, ())
        writer.write(data[first:300_000])
        writer.write_tail()
        assert storage.part_size(tmp_path, "u", len(data)) == first  # it never counted
        part = _restart(part)
        assert storage.recover(part) == first
        assert os.fstat(fd).st_size == HEADER + WHOLE
        assert tail.stat().st_size == first - SEGMENT  # its own tail as it was
        assert sorted(p.name for p in tmp_path.iterdir()) == ["u.keys", "u.part", "u.tail1"]
        h = _run(storage.running_hash(part, first))  # read back from the disk
        assert h.hexdigest() == hashlib.sha256(data[:first]).hexdigest()

        # A chunk that does not match its checksum is cut off in place, too.
        with pytest.raises(Refused) as refused:
            _receive(part, data[first:400_000], first, _sha256_header(b"other"))
        assert refused.value.status == 460
        assert storage.part_size(tmp_path, "u", len(data)) == first

        # Without a checksum, killed mid-chunk: the whole segments that arrived count,
        # a segment half written does not.
        writer = SegmentWriter(part, first, ())
        writer.write(data[first:250_000])  # segments 1 and 2 sealed, the rest in memory
        os.pwrite(fd, b"\0" * 1000, os.fstat(fd).st_size)  # a segment cut short
        part = _restart(part)
        assert storage.recover(part) == 3 * SEGMENT
        assert os.fstat(fd).st_size == HEADER + 3 * WHOLE

        assert _receive(part, data[3 * SEGMENT:], 3 * SEGMENT,
                        _sha256_header(data[3 * SEGMENT:])) == len(data) - 3 * SEGMENT
        h = _run(storage.running_hash(part, len(data)))
        assert h.hexdigest() == hashlib.sha256(data).hexdigest()
    # The finished part is the sealed blob itself.
    path = storage.part_path(tmp_path, "u")
    assert sealed.read_plain(path) == data and CANARY not in path.read_bytes()


def test_an_empty_upload_and_one_of_whole_segments_end_as_blobs(
        tmp_path: Path, master: bytes) -> None:
    for name, data in (("e", b""), ("w", os.urandom(2 * SEGMENT))):
        storage.create_part(tmp_path, name, master)
        with storage.locked_part(tmp_path, name) as fd:
            part = Part(tmp_path, name, fd, len(data), master)
            assert _receive(part, data, 0) == len(data)
            assert storage.part_size(tmp_path, name, len(data)) == len(data)
            # A server killed before the rename: the part still says it is whole.
            assert storage.recover(_restart(part)) == len(data)
        assert sealed.read_plain(storage.part_path(tmp_path, name)) == data
