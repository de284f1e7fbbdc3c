"""The content-addressed image store: files named by their SHA-256, never modified.

Layout: <root>/ab/cdef… (the first two hex digits name the folder). A file is copied
in blocks to a temporary file in <root>/tmp while it is hashed, flushed and fsynced,
then renamed to its name — so a file under its hash is always whole, and a crash
leaves at most a temporary file behind. The same content added twice is stored once.
Stored files are made read-only; nothing here ever opens one for writing.

With a key (the practice's image key, see app.store.keys) every file is sealed as it is
written (app.imaging.sealed: AES-256-GCM, STREAM construction); the name stays the
SHA-256 of the plaintext, so sync, dedup and verification do not change. Readers go
through `open` / `blob` (a decrypting stream, never a plaintext temporary file), which
also read the plain files of a store written before encryption.

Thread- and process-safe: two writers of the same content race only on the final
rename, which either of them may win with identical bytes.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from app.imaging import sealed
from app.imaging.errors import DamagedFileError, ImagingError
from app.platform.files import fsync_dir, hash_file  # noqa: F401  (hashes plain sources)
from app.platform.paths import data_dir

BLOCK = 1024 * 1024


@dataclass(frozen=True, slots=True)
class StoredFile:
    sha256: str
    size: int
    path: Path
    existed: bool  # the content was already in the store


def _blocks_of(path: Path) -> Iterator[bytes]:
    # A source may itself be sealed (a file filed again from another store).
    with sealed.open_read(path) as src:
        while block := src.read(BLOCK):
            yield block


def default_root() -> Path:
    return data_dir() / "images"


def _holds(dest: Path, size: int) -> bool:
    """Is a whole, readable copy of `size` bytes already at `dest`?"""
    try:
        return dest.is_file() and sealed.plain_size(dest) == size
    except (OSError, ImagingError):
        return False


class ImageStore:
    def __init__(self, root: Path | None = None, key: bytes | None = None) -> None:
        """`key`: files added are sealed with it (and it is remembered for reading);
        without one they are written plain, as before encryption."""
        self.root = Path(root) if root is not None else default_root()
        self.key = key
        if key is not None:
            sealed.remember(key)

    @classmethod
    def of(cls, db: object, root: Path | None = None) -> ImageStore:
        """The store of an open practice database, sealed with its image key."""
        return cls(root, getattr(db, "image_key", None))

    def open(self, sha256: str) -> BinaryIO:
        """The stored content as a seekable stream (decrypted on the fly)."""
        return sealed.open_read(self.path_of(sha256))

    def blob(self, sha256: str) -> sealed.Blob:
        return sealed.open_blob(self.path_of(sha256))

    def read_bytes(self, sha256: str) -> bytes:
        with self.open(sha256) as f:
            return f.read()

    def path_of(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:]

    def has(self, sha256: str) -> bool:
        return self.path_of(sha256).is_file()

    def add_file(self, source: Path, *, verify: bool = False) -> StoredFile:
        """Copy `source` into the store; with `verify`, the stored copy is read back
        and hashed again before this returns (the acquisition folder's rule before a
        source may be moved away). Raises DamagedFileError for an empty source."""
        source = Path(source)
        with self._incoming(_blocks_of(source)) as (tmp, sha, size):
            if size == 0:
                raise DamagedFileError(f"{source.name} is empty (0 bytes).")
            return self._settle(tmp, sha, size, verify)

    def add_bytes(self, data: bytes) -> StoredFile:
        """Small generated content (a series manifest)."""
        with self._incoming([data]) as (tmp, sha, size):
            return self._settle(tmp, sha, size, False)

    def add_stream(self, blocks: Iterable[bytes], expected_sha256: str) -> StoredFile:
        """Bytes arriving in blocks (a download), kept only if they hash to
        `expected_sha256`; ImagingError otherwise, and nothing is stored."""
        with self._incoming(blocks) as (tmp, sha, size):
            if sha != expected_sha256:
                raise ImagingError(
                    f"The bytes received for {expected_sha256[:12]} do not match their "
                    "SHA-256; nothing was kept."
                )
            return self._settle(tmp, sha, size, False)

    @contextmanager
    def _incoming(self, blocks: Iterable[bytes]) -> Iterator[tuple[Path, str, int]]:
        """Write `blocks` to a temporary file in the store, hashing on the way, and
        fsync it; yields (temporary path, SHA-256, size). Whatever is not settled into
        the store is removed."""
        tmp_dir = self.root / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=tmp_dir, prefix="in-")
        tmp = Path(tmp_name)
        try:
            h = hashlib.sha256()
            size = 0
            with os.fdopen(fd, "wb") as out:
                sink = sealed.SealWriter(out, self.key) if self.key is not None else out
                for block in blocks:
                    h.update(block)
                    sink.write(block)
                    size += len(block)
                if isinstance(sink, sealed.SealWriter):
                    sink.close()
                out.flush()
                os.fsync(out.fileno())
            yield tmp, h.hexdigest(), size
        finally:
            tmp.unlink(missing_ok=True)

    def _settle(self, tmp: Path, sha: str, size: int, verify: bool) -> StoredFile:
        dest = self.path_of(sha)
        existed = _holds(dest, size)
        if not existed:
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(tmp, 0o444)
            os.replace(tmp, dest)
            fsync_dir(dest.parent)
        if verify:
            again, again_size = sealed.hash_plain(dest)
            if (again, again_size) != (sha, size):
                raise ImagingError(
                    f"The stored copy of {sha[:12]} does not read back as written; "
                    "the disk may be failing. The original was left where it was."
                )
        return StoredFile(sha, size, dest, existed)

    def clean_tmp(self, older_than_s: float = 24 * 3600) -> int:
        """Remove temporary files a crash left behind (only old ones: a copy may be in
        progress in another process). Returns how many."""
        removed = 0
        cutoff = time.time() - older_than_s
        for p in (self.root / "tmp").glob("in-*"):
            try:
                if p.stat().st_mtime < cutoff:
                    p.unlink()
                    removed += 1
            except OSError:
                continue
        return removed

    def missing(self, hashes: Iterable[str]) -> list[str]:
        return [h for h in hashes if not self.has(h)]
