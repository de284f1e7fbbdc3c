"""The recovery folder on this PC: images the sync wizard could not send, kept until
a person attaches them to a patient's record.

The files are sealed like the image store (app.imaging.sealed, the store's key): a
copied disk shows neither the images nor whose they are. One subfolder per hidden
procedure, named by the record's date and id ("2026-11-20 record 1a2b3c4d", made
unique), never by the patient; whose they are is kept in a sealed `.about` file the
Recovered images dialog reads. Each file is copied with its plaintext hash taken on
the way, fsynced and renamed into place, then checked against the hash it was stored
under; a procedure is only taken out of its record after every copy checked out.
Names from records are made safe for any file system (no path separators, "..", NUL
or control characters).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from app.imaging import sealed
from app.imaging.errors import DamagedFileError, ImagingError
from app.platform.files import fsync_dir
from app.platform.paths import data_dir

BLOCK = 1024 * 1024
ABOUT = ".about"  # sealed JSON: whose images these are, for the dialog
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]+')


def safe_name(name: str, fallback: str = "image") -> str:
    """A file or folder name that stays inside its folder on every system."""
    cleaned = re.sub(r"\.{2,}", " ", _UNSAFE.sub(" ", name))
    cleaned = " ".join(cleaned.split())[:120].strip(". ")
    return cleaned or fallback


@dataclass(frozen=True, slots=True)
class RecoveredSet:
    path: Path
    label: str
    files: tuple[Path, ...]


def default_root() -> Path:
    return data_dir() / "Recovered images"


class RecoveryFolder:
    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_root()

    def keep(
        self, patient_name: str, date: str | None, sources: Iterable[tuple[Path, str, str]],
        *, record_id: str | None = None, key: bytes | None = None,
    ) -> Path:
        """Copy (stored file, original name, sha256) triples into a new subfolder,
        sealed with `key` (the image store's; None only for a store never sealed).

        Raises ImagingError, leaving no partial folder, when a file is missing or its
        copy does not match its hash."""
        self.root.mkdir(parents=True, exist_ok=True)
        self._clean_incoming()
        record = f"record {record_id[:8]}" if record_id else "no record"
        base = safe_name(f"{date or 'undated'} {record}", "Images")
        folder = Path(tempfile.mkdtemp(dir=self.root, prefix=".incoming-"))
        try:
            used: set[str] = set()
            for source, name, sha in sources:
                _copy_checked(source, folder / _unique(safe_name(name), used), sha, key)
            if key is not None:
                about = {"patient": patient_name, "date": date, "record": record_id}
                _write_sealed(folder / ABOUT, json.dumps(about).encode(), key)
            final = self.root / _unique(base, {p.name for p in self.root.iterdir()})
            os.replace(folder, final)
            fsync_dir(self.root)
            return final
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise

    def _clean_incoming(self, older_than_s: float = 3600) -> None:
        """Half-made folders of a copy that was cut off (the program killed, the disk
        full); their images were never taken out of the record, so nothing is lost."""
        now = time.time()
        for d in self.root.glob(".incoming-*"):
            with contextlib.suppress(OSError):
                if now - d.stat().st_mtime > older_than_s:
                    shutil.rmtree(d)

    def sets(self) -> list[RecoveredSet]:
        """What waits here, newest first."""
        if not self.root.is_dir():
            return []
        found = []
        for d in self.root.iterdir():
            if not d.is_dir() or d.name.startswith("."):
                continue
            files = tuple(sorted(f for f in d.iterdir()
                                 if f.is_file() and not f.name.startswith(".")))
            if files:
                found.append((d.stat().st_mtime, RecoveredSet(d, _label(d), files)))
        return [s for _t, s in sorted(found, key=lambda x: -x[0])]

    def forget(self, entry: RecoveredSet, filed: Iterable[Path]) -> None:
        """Remove the files that were filed in a record; the folder goes when empty."""
        for f in filed:
            if f.parent == entry.path:
                f.unlink(missing_ok=True)
        if entry.path.is_dir() and not any(not f.name.startswith(".")
                                           for f in entry.path.iterdir()):
            (entry.path / ABOUT).unlink(missing_ok=True)
            entry.path.rmdir()


LEGACY = "kept before encryption"


def seal_plain(root: Path, key: bytes) -> int:
    """Seal the sets kept before the folder was encrypted, each file in place (a
    sealed copy beside it, checked against the plaintext's hash, renamed over it), then
    move their name — "<patient> <date>" — into the sealed note and rename the folder.
    Resumable: a file already sealed is skipped, a half-written copy redone. Returns
    how many files were sealed."""
    if not root.is_dir():
        return 0
    done = 0
    for folder in sorted(d for d in root.iterdir()
                         if d.is_dir() and not d.name.startswith(".")):
        for f in sorted(folder.iterdir()):
            if f.name.startswith(".") or not f.is_file() or sealed.is_sealed(f):
                continue
            sha, _size = sealed.hash_plain(f)
            tmp = f.with_name(f".{f.name}.part")
            _copy_checked(f, tmp, sha, key)
            os.replace(tmp, f)
            done += 1
        about = folder / ABOUT
        legacy = not about.exists()
        if legacy:
            _write_sealed(about, json.dumps({"patient": folder.name, "date": None,
                                             "record": None, "legacy": True}).encode(), key)
        else:
            try:
                legacy = bool(json.loads(sealed.read_plain(about)).get("legacy"))
            except (OSError, ValueError, ImagingError, AttributeError):
                legacy = False  # a note this key cannot read: not ours to rename
        if legacy and not folder.name.startswith(LEGACY):
            stamp = time.strftime("%Y-%m-%d", time.localtime(folder.stat().st_mtime))
            name = _unique(f"{LEGACY} {stamp}", {p.name for p in root.iterdir()})
            os.replace(folder, root / name)
    if done:
        fsync_dir(root)
    return done


def _label(folder: Path) -> str:
    """"<patient> <date>" from the sealed note; the folder's own name when the note
    cannot be read (a set kept before sealing, the key not available)."""
    try:
        about = json.loads(sealed.read_plain(folder / ABOUT))
        return " ".join(p for p in (about.get("patient"), about.get("date")) if p) \
            or folder.name
    except (OSError, ValueError, ImagingError, AttributeError):
        return folder.name


def _write_sealed(target: Path, data: bytes, key: bytes) -> None:
    with open(target, "wb") as out:
        writer = sealed.SealWriter(out, key)
        writer.write(data)
        writer.close()
        out.flush()
        os.fsync(out.fileno())


def _unique(name: str, used: set[str]) -> str:
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        stem, ext = name, ""
    candidate, n = name, 1
    while candidate in used:
        n += 1
        candidate = f"{stem} ({n}).{ext}" if ext else f"{stem} ({n})"
    used.add(candidate)
    return candidate


def _copy_checked(source: Path, target: Path, sha256: str, key: bytes | None) -> None:
    h = hashlib.sha256()
    tmp = target.with_name(f".{target.name}.part")
    try:
        with sealed.open_read(source) as src, open(tmp, "wb") as out:
            sink: sealed.SealWriter | BinaryIO = (
                sealed.SealWriter(out, key) if key is not None else out)
            while block := src.read(BLOCK):
                h.update(block)
                sink.write(block)
            if isinstance(sink, sealed.SealWriter):
                sink.close()
            out.flush()
            os.fsync(out.fileno())
    except FileNotFoundError:
        tmp.unlink(missing_ok=True)
        raise ImagingError(f"{target.name} is no longer on this computer.") from None
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ImagingError(f"{target.name} could not be copied: {exc.strerror or exc}.") from None
    if h.hexdigest() != sha256:
        tmp.unlink(missing_ok=True)
        raise DamagedFileError(
            f"{target.name} on this computer is damaged (its content changed since it "
            "was stored); it was not moved."
        )
    os.replace(tmp, target)
