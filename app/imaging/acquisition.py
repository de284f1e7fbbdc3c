"""The acquisition folder: which files are ready, whose they are, where they go after.

An imaging device writes into a drop folder at its own pace. A file is taken only when
it is complete: its size and modification time unchanged across checks at least
`settle_s` apart, it can be opened and read, and — for formats that end with a marker
(JPEG, PNG, binary and text STL, DICOM pixel data) — the marker is there. A file that
stays stable but incomplete for `incomplete_after_s` is reported with its reason and
left alone. After its copy in the image store is verified, a source is moved into the
`imported` subfolder. Those are the device's originals in plain text: once their copy
has reached the cloud they are removed after the number of days the admin set
(`keep_days`, default 30; 0 keeps them), so that the disk holds them only sealed.

The folder is configured per PC (and per practice database) in a file under the
platform config folder, not in the synced database.
"""

from __future__ import annotations

import json
import os
import re
import stat
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from app.imaging import dicom, matching
from app.imaging.complete import has_provable_end, incomplete_reason
from app.platform.paths import config_dir

IMPORTED = "imported"
DEFAULT_KEEP_DAYS = 30
MAX_KEEP_DAYS = 3650
# Files that programs write on the way to the real one, or keep for themselves: never
# taken; listed with this reason if they stay.
_TEMPORARY = tuple((re.compile(pattern, re.I), writer) for pattern, writer in (
    (r"^~\$", "Microsoft Office"),
    (r"^\.~lock\..*#$", "LibreOffice"),
    (r"^\..+\.sw[a-p]$", "a text editor"),
    (r"^\._", "macOS (a resource fork)"),
    (r"^\.(DS_Store|localized)$", "macOS"),
    (r"^(Thumbs\.db|desktop\.ini|ehthumbs\.db)$", "Windows"),
    (r"\.(part|partial|crdownload|download|!ut|opdownload)$", "a download or copy"),
    (r"\.(tmp|temp|lock|lck)$", "a program still writing"),
    (r"^\.[^.].*\.[A-Za-z0-9]{6}$", "rsync"),  # ".name.XXXXXX", renamed when done
))
_SKIPPED_DIRS = {".Trash", ".Trashes", ".fseventsd", ".Spotlight-V100", ".AppleDouble",
                 ".git", "@eaDir", "$RECYCLE.BIN", "System Volume Information"}
__all__ = ["has_provable_end", "incomplete_reason"]


# Settings ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class FolderSettings:
    folder: Path | None
    polling: bool = False  # network shares send no change events: check on a timer
    # How long a file must stay unchanged, and how long a whole-looking but incomplete
    # one waits before it is listed as failed; None: the agent's defaults (a slow
    # share or sensor may need longer).
    settle_s: float | None = None
    incomplete_after_s: float | None = None
    # Days an original stays in imported/ after its upload is done; 0: kept for good;
    # None: not given (saving keeps what was set, reading gives the default).
    keep_days: int | None = None

    @property
    def originals_days(self) -> int:
        return DEFAULT_KEEP_DAYS if self.keep_days is None else self.keep_days


def _seconds(value: object) -> float | None:
    if not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if 0 < number < 24 * 3600 else None


def _days(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 0 <= value <= MAX_KEEP_DAYS else None


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
    return FolderSettings(Path(folder) if folder else None, bool(entry.get("polling")),
                          _seconds(entry.get("settle_s")),
                          _seconds(entry.get("incomplete_after_s")),
                          _days(entry.get("keep_days")))


def save_settings(database: Path, settings: FolderSettings) -> None:
    path = _config_file()
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        data = {}
    entries = data.setdefault("databases", {})
    entry = entries.get(_key(database)) or {}
    entry.update({"folder": str(settings.folder) if settings.folder else None,
                  "polling": settings.polling})
    # Timings are kept unless given: the folder dialog does not show them; the days
    # are kept when someone who may not change them saves the folder.
    for name in ("settle_s", "incomplete_after_s", "keep_days"):
        if getattr(settings, name) is not None:
            entry[name] = getattr(settings, name)
    entries[_key(database)] = entry
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


def temporary_reason(name: str) -> str | None:
    """Why a file is left alone as some program's temporary file, or None."""
    for pattern, writer in _TEMPORARY:
        if pattern.search(name):
            return (f"{name} looks like a temporary file of {writer}; it was left alone "
                    "in the folder.")
    return None


def candidates(folder: Path, *, temporary: bool = False) -> list[tuple[Path, os.stat_result]]:
    """Plain files in the folder and its subfolders (devices often write a study into
    a folder of its own), oldest first; `imported/` and system folders skipped, and
    other programs' temporary files unless `temporary`. Names that merely begin with
    "." or "~" are taken like any other."""
    out = []
    for root, dirs, names in os.walk(folder):
        top = Path(root) == Path(folder)
        dirs[:] = [d for d in dirs if d not in _SKIPPED_DIRS and not d.startswith(".Trash-")
                   and not (top and d == IMPORTED)]
        for name in names:
            if not temporary and temporary_reason(name):
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
def dicom_mismatch(
    info: dicom.DicomInfo, first_name: str | None, last_name: str | None,
    birth_date: str | None, identifiers: Iterable[str | None] = (), number: object = None,
) -> str | None:
    """None when the DICOM header can be this patient's, else why not (or why it
    cannot be confirmed), in words for the quarantine list."""
    who = matching.patient_of(first_name, last_name, birth_date, identifiers, number)
    return matching.mismatch(info.patient_name, info.patient_id, info.birth_raw,
                             info.birth_date, who)
