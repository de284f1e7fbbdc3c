"""The acquisition folder: which files are ready, whose they are, where they go after.

An imaging device writes into a drop folder at its own pace. A file is taken only when
it is complete: its size and modification time unchanged across checks at least
`settle_s` apart, it can be opened and read, and — for formats that end with a marker
(JPEG, PNG, binary and text STL, DICOM pixel data) — the marker is there. A file that
stays stable but incomplete for `incomplete_after_s` is reported with its reason and
left alone. After its copy in the image store is verified, a source is moved into the
`imported` subfolder, never deleted.

The folder is configured per PC (and per practice database) in a file under the
platform config folder, not in the synced database.
"""

from __future__ import annotations

import json
import os
import re
import stat
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.imaging import classify, dicom, mesh
from app.imaging.errors import ImagingError
from app.platform.paths import config_dir

IMPORTED = "imported"
PLY_CHECK_MAX = 256 * 1024 * 1024  # larger models are judged by stable size alone
_IGNORED = re.compile(r"^(\.|~\$)|\.(tmp|part|partial|crdownload|download|lock)$", re.I)
_PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"


# Settings ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class FolderSettings:
    folder: Path | None
    polling: bool = False  # network shares send no change events: check on a timer


def _config_file() -> Path:
    return config_dir() / "acquisition.json"


def _key(database: Path) -> str:
    return str(Path(database).resolve())


def load_settings(database: Path) -> FolderSettings:
    try:
        data = json.loads(_config_file().read_text())
    except (OSError, ValueError):
        return FolderSettings(None)
    entry = data.get("databases", {}).get(_key(database)) or {}
    folder = entry.get("folder")
    return FolderSettings(Path(folder) if folder else None, bool(entry.get("polling")))


def save_settings(database: Path, settings: FolderSettings) -> None:
    path = _config_file()
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        data = {}
    data.setdefault("databases", {})[_key(database)] = {
        "folder": str(settings.folder) if settings.folder else None,
        "polling": settings.polling,
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, path)


# Readiness -----------------------------------------------------------------------------
@dataclass
class _Seen:
    size: int
    mtime_ns: int
    since: float  # when this size and mtime were first seen
    checks: int


class Settler:
    """Tracks files across checks; `ready()` says when one may be taken."""

    def __init__(self, settle_s: float = 2.0, incomplete_after_s: float = 120.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.settle_s = settle_s
        self.incomplete_after_s = incomplete_after_s
        self.clock = clock
        self.seen: dict[str, _Seen] = {}

    def observe(self, path: Path, st: os.stat_result) -> bool:
        """True when the file has kept its size and mtime long enough."""
        now = self.clock()
        key = str(path)
        prev = self.seen.get(key)
        if prev is None or (prev.size, prev.mtime_ns) != (st.st_size, st.st_mtime_ns):
            self.seen[key] = _Seen(st.st_size, st.st_mtime_ns, now, 1)
            return False
        prev.checks += 1
        return prev.checks >= 2 and now - prev.since >= self.settle_s

    def stable_for(self, path: Path) -> float:
        prev = self.seen.get(str(path))
        return self.clock() - prev.since if prev else 0.0

    def forget(self, path: Path) -> None:
        self.seen.pop(str(path), None)

    def prune(self, present: set[str]) -> None:
        for key in list(self.seen):
            if key not in present:
                del self.seen[key]


def candidates(folder: Path) -> list[tuple[Path, os.stat_result]]:
    """Plain files in the folder and its subfolders (devices often write a study into
    a folder of its own), oldest first; `imported/`, hidden and temporary names
    skipped."""
    out = []
    for root, dirs, names in os.walk(folder):
        top = Path(root) == Path(folder)
        dirs[:] = [d for d in dirs if not d.startswith(".") and not (top and d == IMPORTED)]
        for name in names:
            if _IGNORED.search(name):
                continue
            path = Path(root) / name
            try:
                st = path.stat(follow_symlinks=False)
            except OSError:
                continue  # gone meanwhile
            if stat.S_ISREG(st.st_mode):
                out.append((path, st))
    out.sort(key=lambda p: (p[1].st_mtime_ns, str(p[0])))
    return out


def incomplete_reason(path: Path) -> str | None:
    """None when the file reads as whole, else why it does not (yet)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 64))
            tail = f.read()
        fmt = classify.sniff(path)
    except ImagingError as exc:
        return str(exc)
    except OSError as exc:
        return f"cannot be read yet ({exc.strerror or exc})"
    stripped = tail.rstrip(b"\x00\r\n ")
    if fmt == "jpeg" and not stripped.endswith(b"\xff\xd9"):
        return "the JPEG has no end marker: it is incomplete or damaged"
    if fmt == "png" and not tail.endswith(_PNG_END):
        return "the PNG has no end chunk: it is incomplete or damaged"
    if fmt == "stl":
        with open(path, "rb") as f:
            text_model = f.read(5).lower() == b"solid" and b"facet" in f.read(4096).lower()
        if text_model and b"endsolid" not in tail.lower():
            return "the STL text model is cut short"
    if fmt == "dicom":
        return _dicom_incomplete(path, size)
    if fmt == "ply" and size <= PLY_CHECK_MAX:
        # The header counts the corners and triangles that must follow.
        try:
            mesh.load(path, "ply")
        except ImagingError as exc:
            return f"the PLY model is incomplete ({exc})"
    if fmt == "unknown" and path.suffix.lower() == ".stl" and size >= 84:
        # A binary STL names its triangle count up front: fewer bytes mean more to come.
        with open(path, "rb") as f:
            f.seek(80)
            count = int.from_bytes(f.read(4), "little")
        if 84 + 50 * count > size:
            return "the binary STL is cut short"
    return None


def _dicom_incomplete(path: Path, size: int) -> str | None:
    try:
        ds = dicom.read(path)
        raw = ds.get_item("PixelData") if "PixelData" in ds else None
    except ImagingError as exc:
        return str(exc)
    except Exception as exc:  # pydicom raises many kinds on a cut-short file
        return f"the DICOM file is cut short ({exc})"
    if raw is None:
        return None
    length = getattr(raw, "length", None)
    tell = getattr(raw, "value_tell", None)
    if length is None or tell is None:
        return None
    if length == 0xFFFFFFFF:  # encapsulated: must end with the sequence delimiter
        with open(path, "rb") as f:
            f.seek(max(0, size - 8))
            if f.read(8) != b"\xfe\xff\xdd\xe0\x00\x00\x00\x00":
                return "the DICOM pixel data is cut short"
        return None
    if tell + length > size:
        return "the DICOM pixel data is cut short"
    return None


def move_to_imported(source: Path, folder: Path | None = None) -> Path:
    """Move a verified source into <folder>/imported, keeping its subfolder, never over
    another file."""
    folder = folder or source.parent
    target_dir = folder / IMPORTED / source.parent.relative_to(folder)
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / source.name
    n = 1
    while target.exists():
        target = target_dir / f"{source.stem} ({n}){source.suffix}"
        n += 1
    os.replace(source, target)
    return target


# Whose is it ---------------------------------------------------------------------------
def _fold(text: str) -> list[str]:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().casefold()
    return [t for t in re.split(r"[^a-z0-9]+", plain) if t]


def _same_person(name: str, first_name: str | None, last_name: str | None) -> bool:
    """DICOM names are FAMILY^GIVEN^MIDDLE^PREFIX^SUFFIX; middle names, prefixes and
    suffixes vary between devices and are not compared. Some devices write
    "Given Family" in the first component alone."""
    parts = name.split("^")
    family, given = set(_fold(parts[0])), set(_fold(parts[1] if len(parts) > 1 else ""))
    want_last, want_first = set(_fold(last_name or "")), set(_fold(first_name or ""))
    if len(parts) > 1 or not want_first:
        return family == want_last and (not given or given <= want_first
                                        or want_first <= given)
    # One component: every word must be the patient's, with the family name among them.
    return (bool(family & want_first) and want_last <= family
            and family <= want_first | want_last)


def dicom_mismatch(
    info: dicom.DicomInfo, first_name: str | None, last_name: str | None,
    birth_date: str | None,
) -> str | None:
    """None when the DICOM header can be this patient's (or names nobody), else why
    not, in words for the quarantine list."""
    problems = []
    name = info.patient_name
    if name and not _same_person(name, first_name, last_name):
        problems.append(f"the file names {', '.join(p for p in name.split('^') if p)}")
    if info.birth_date and birth_date and info.birth_date != birth_date:
        problems.append(f"born {info.birth_date}")
    if not problems:
        return None
    who = " ".join(p for p in (first_name, last_name) if p) or "this patient"
    return (
        f"The DICOM header says {' and '.join(problems)}, but the acquisition is for "
        f"{who}" + (f" (born {birth_date})" if birth_date else "") + "."
    )
