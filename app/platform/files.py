"""Hashing files as they are: streamed, so memory stays flat whatever their size."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

BLOCK = 1024 * 1024


def hash_file(path: Path) -> tuple[str, int]:
    """(hex SHA-256, size) of a file, read in blocks."""
    h = hashlib.sha256()
    size = 0
    with open(path, "rb", buffering=0) as f:
        while block := f.read(BLOCK):
            h.update(block)
            size += len(block)
    return h.hexdigest(), size


def fsync_dir(folder: Path) -> None:
    """Make a rename or a new file in `folder` survive a power cut."""
    if os.name == "nt":  # directories cannot be opened for fsync on Windows
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
