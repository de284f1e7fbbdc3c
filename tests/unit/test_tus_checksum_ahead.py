"""The next chunk's Upload-Checksum is hashed while the current chunk is sent: the
value a server checks must be that of the bytes sent, whether the guess of the next
chunk was right or not."""

from __future__ import annotations

import base64
import hashlib
import os
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
