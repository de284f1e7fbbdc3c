"""Sealing an image store written before encryption, in the background.

Each plain file is encrypted into a temporary file in the store (app.imaging.cas's
own copy path), which is read back and must hash to the name the file is stored
under; only then does it replace the plain file, by one atomic rename. Killed at
any moment, the store holds under each name either the plain file or its whole
sealed copy — never neither — and a later pass goes on with what is still plain
(the order does not matter, nothing is remembered between passes). A plain file
that no longer matches its name is left as it is and counted: it is damaged, and
sealing it would hide that.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from app.imaging import sealed
from app.imaging.cas import ImageStore, _blocks_of
from app.imaging.errors import ImagingError
from app.platform.files import fsync_dir


@dataclass
class SealReport:
    sealed: int = 0
    damaged: int = 0
    remaining: int = 0  # plain files left for a later pass

    def describe(self) -> str:
        if not (self.sealed or self.damaged):
            return ""
        return (f"{self.sealed} files encrypted, {self.damaged} damaged left plain, "
                f"{self.remaining} to go")


def _stored_files(store: ImageStore) -> Iterator[tuple[str, Path]]:
    if not store.root.is_dir():
        return
    for folder in sorted(store.root.iterdir()):
        if len(folder.name) != 2 or not folder.is_dir():
            continue  # tmp/ and anything that is not a hash folder
        for path in sorted(folder.iterdir()):
            if path.is_file() and len(path.name) == 62:
                yield folder.name + path.name, path


def plain_files(store: ImageStore) -> list[tuple[str, Path]]:
    return [(sha, p) for sha, p in _stored_files(store) if not sealed.is_sealed(p)]


def seal_plain(store: ImageStore, *, budget_s: float | None = None,
               progress: Callable[[int, int], None] | None = None,
               clock: Callable[[], float] = time.monotonic) -> SealReport:
    """Seal the store's plain files, for at most `budget_s` (None: all of them)."""
    if store.key is None:
        raise ImagingError("The image store has no key to seal its files with.")
    todo = plain_files(store)
    report = SealReport()
    started = clock()
    for done, (sha, path) in enumerate(todo):
        if budget_s is not None and clock() - started >= budget_s:
            report.remaining = len(todo) - done
            break
        try:
            _seal_one(store, sha, path)
            report.sealed += 1
        except ImagingError:
            report.damaged += 1
        except FileNotFoundError:
            continue  # sealed meanwhile by another pass
        if progress:
            progress(done + 1, len(todo))
    return report


def drop_plain_thumbnails(root: Path) -> int:
    """Remove thumbnails cached in plain PNG before the store was sealed (a cache:
    each is made again, sealed, when it is next shown). Returns how many."""
    removed = 0
    if not root.is_dir():
        return 0
    for path in root.glob("*/*.png"):
        if not sealed.is_sealed(path):
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def _seal_one(store: ImageStore, sha: str, path: Path) -> None:
    with store._incoming(_blocks_of(path)) as (tmp, got, size):
        if got != sha:
            raise ImagingError(f"{sha[:12]} no longer matches its content; left as it is.")
        if sealed.hash_plain(tmp) != (sha, size):
            raise ImagingError(f"The sealed copy of {sha[:12]} does not read back.")
        os.chmod(tmp, 0o444)
        if not sealed.is_sealed(path):  # another pass may have been first
            os.replace(tmp, path)
            fsync_dir(path.parent)
