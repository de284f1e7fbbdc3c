"""Turning files into stored, classified items ready to be filed in a record.

`prepare()` copies each file into the image store (hashing as it copies), classifies
it, and groups CT slices that share a SeriesInstanceUID into one series item with a
manifest. Nothing here touches the database; a file that cannot be stored is listed
with its reason and the others go on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from app.imaging import classify, series
from app.imaging.cas import ImageStore, StoredFile
from app.imaging.dicom import DicomInfo
from app.imaging.errors import ImagingError


@dataclass(frozen=True, slots=True)
class UploadFile:
    sha256: str
    size: int
    path: Path
    filename: str


@dataclass(frozen=True, slots=True)
class Prepared:
    """One item for a record: a single file, or a CBCT series (its manifest)."""

    sha256: str
    size: int
    filename: str
    kind: str
    format: str
    taken_at: str | None
    series_uid: str | None = None
    dicom: DicomInfo | None = None
    uploads: tuple[UploadFile, ...] = ()
    slices: tuple[series.Slice, ...] = ()
    sources: tuple[Path, ...] = ()


@dataclass
class PrepareReport:
    items: list[Prepared] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)


def _mtime_utc(path: Path) -> str:
    when = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
    return when.replace(microsecond=0).isoformat()


def store_one(store: ImageStore, path: Path, *, verify: bool = False
              ) -> tuple[StoredFile, classify.Classified]:
    """Copy in, then classify the stored copy (what was hashed is what is judged)."""
    stored = store.add_file(path, verify=verify)
    return stored, classify.classify_as(stored.path, path.name)


def prepare(
    store: ImageStore,
    paths: Iterable[Path],
    *,
    kind: str | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> PrepareReport:
    """Store and classify `paths`; `kind` overrides the guess (the user said so)."""
    paths = [Path(p) for p in paths]
    report = PrepareReport()
    slices: dict[str, list[tuple[StoredFile, classify.Classified, Path]]] = {}
    for i, path in enumerate(paths):
        if progress:
            progress(i, len(paths), path.name)
        try:
            stored, found = store_one(store, path)
            taken = found.dicom.taken_at if found.dicom and found.dicom.taken_at else None
            taken = taken or _mtime_utc(path)
        except (ImagingError, OSError) as exc:
            report.failed.append((path, _reason(path, exc)))
            continue
        if found.kind == "cbct" and found.dicom and found.dicom.series_uid:
            slices.setdefault(found.dicom.series_uid, []).append((stored, found, path))
            continue
        up = UploadFile(stored.sha256, stored.size, stored.path, path.name)
        report.items.append(Prepared(
            stored.sha256, stored.size, path.name, kind or found.kind, found.format, taken,
            dicom=found.dicom, uploads=(up,), sources=(path,),
        ))
    for uid, parts in slices.items():
        report.items.append(series_item(store, uid, parts))
    if progress:
        progress(len(paths), len(paths), "")
    return report


def series_item(
    store: ImageStore,
    uid: str,
    parts: list[tuple[StoredFile, classify.Classified, Path]],
    existing: series.Manifest | None = None,
) -> Prepared:
    infos = [(st.sha256, st.size, src.name, c.dicom) for st, c, src in parts if c.dicom]
    manifest = series.build(uid, infos[0][3].modality, infos)
    if existing is not None:
        manifest = existing.merged(manifest.slices)
    stored = store.add_bytes(manifest.to_bytes())
    first = parts[0][1].dicom
    assert first is not None
    uploads = tuple(UploadFile(st.sha256, st.size, st.path, src.name) for st, _c, src in parts)
    name = f"CBCT series ({len(manifest.slices)} slices).json"
    return Prepared(
        stored.sha256, manifest.total_size, name, "cbct", "dicom-series",
        first.taken_at or _mtime_utc(parts[0][2]), series_uid=uid, dicom=first,
        uploads=(*uploads, UploadFile(stored.sha256, stored.size, stored.path, name)),
        slices=manifest.slices, sources=tuple(src for _s, _c, src in parts),
    )


def _reason(path: Path, exc: Exception) -> str:
    if isinstance(exc, ImagingError):
        return str(exc)
    if isinstance(exc, PermissionError):
        return f"{path.name} cannot be read: permission denied."
    if isinstance(exc, FileNotFoundError):
        return f"{path.name} is no longer there."
    return f"{path.name} could not be read ({exc})."
