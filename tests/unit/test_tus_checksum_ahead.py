"""The next chunk's Upload-Checksum is hashed while the current chunk is sent: the
value a server checks must be that of the bytes sent, whether the guess of the next
chunk was right or not."""

from __future__ import annotations

import base64
import hashlib
import os
import zlib
from pathlib import Path

from sync_agent.tus_client import ChecksumAhead, FileSlice


def _expected(data: bytes) -> str:
    return "sha256 " + base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


def test_each_chunk_carries_its_own_checksum_when_guesses_hit_and_miss(tmp_path: Path) -> None:
    data = os.urandom(5 * 1024 * 1024 + 123)
    path = tmp_path / "scan.bin"
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    ahead = ChecksumAhead()
    try:
        # 1 MiB chunks, then the chunk size changes (a slower line) and the guess misses.
        sizes = [1 << 20, 1 << 20, 1 << 19, 1 << 21]
        offset = 0
        for i, size in enumerate(sizes):
            guess = 1 << 20
            body = FileSlice(fd, offset, size)
            assert ahead.checksum(body, guess) == _expected(data[offset:offset + size]), i
            offset += size
        # A retry resumes at an earlier offset than guessed.
        body = FileSlice(fd, 1 << 20, 1 << 20)
        assert ahead.checksum(body, 0) == _expected(data[1 << 20:2 << 20])
        # The last, short chunk.
        body = FileSlice(fd, offset, len(data) - offset)
        assert ahead.checksum(body, 0) == _expected(data[offset:])
    finally:
        ahead.close()
        os.close(fd)


def test_crc32_when_the_server_takes_it_and_a_guess_of_another_algorithm_is_not_used(
    tmp_path: Path,
) -> None:
    data = os.urandom(3 * 1024 * 1024)
    path = tmp_path / "photo.bin"
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    ahead = ChecksumAhead()
    mib = 1 << 20

    def crc(chunk: bytes) -> str:
        return "crc32 " + base64.b64encode(zlib.crc32(chunk).to_bytes(4, "big")).decode()

    try:
        assert ahead.checksum(FileSlice(fd, 0, mib), mib, "crc32") == crc(data[:mib])
        assert ahead.checksum(FileSlice(fd, mib, mib), mib, "crc32") == crc(data[mib:2 * mib])
        # The next chunk was hashed ahead with crc32; asked for sha256, it is not reused.
        body = FileSlice(fd, 2 * mib, mib)
        assert ahead.checksum(body, 0, "sha256") == _expected(data[2 * mib:])
    finally:
        ahead.close()
        os.close(fd)
