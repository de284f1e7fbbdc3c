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

from app.imaging import classify, sealed, series
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
    try:
        when = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
    except OSError:  # a stored copy given by name only: now is the best we know
        when = dt.datetime.now(dt.UTC)
    return when.replace(microsecond=0).isoformat()


def _exif_taken(path: Path, fmt: str) -> str | None:
    """When a camera says the photo was taken (EXIF DateTimeOriginal, local time)."""
    if fmt not in ("jpeg", "tiff"):
        return None
    from PIL import Image

    try:
        with sealed.open_read(path) as f, Image.open(f) as im:
            exif = im.getexif()
            value = exif.get_ifd(0x8769).get(0x9003) or exif.get(0x0132)
        if not value:
            return None
        when = dt.datetime.strptime(str(value).strip("\x00 ")[:19], "%Y:%m:%d %H:%M:%S")
    except (OSError, ValueError, SyntaxError):
        return None
    return when.astimezone().astimezone(dt.UTC).isoformat()


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
    report = PrepareReport()
    found: list[tuple[StoredFile, classify.Classified, Path]] = []
    paths = [Path(p) for p in paths]
    for i, path in enumerate(paths):
        if progress:
            progress(i, len(paths), path.name)
        try:
            found.append((*store_one(store, path), path))
        except (ImagingError, OSError) as exc:
            report.failed.append((path, reason_for(path, exc)))
    if progress:
        progress(len(paths), len(paths), "")
    return group(store, found, kind=kind, report=report)


def prepare_stored(store: ImageStore, entries: Iterable[tuple[str, str]]) -> PrepareReport:
    """Items from files already in the store, given (sha256, original name)."""
    report = PrepareReport()
    found: list[tuple[StoredFile, classify.Classified, Path]] = []
    for sha, name in entries:
        path = store.path_of(sha)
        try:
            stored = StoredFile(sha, sealed.plain_size(path), path, True)
            found.append((stored, classify.classify_as(path, name), Path(name)))
        except (ImagingError, OSError) as exc:
            report.failed.append((Path(name), reason_for(Path(name), exc)))
    return group(store, found, report=report)


def group(
    store: ImageStore,
    found: Iterable[tuple[StoredFile, classify.Classified, Path]],
    *,
    kind: str | None = None,
    report: PrepareReport | None = None,
) -> PrepareReport:
    """One item per file, except CT slices: one item per series."""
    report = report or PrepareReport()
    # Keyed by whom the slices name too: a series whose slices name different people
    # (a mixed-up export) becomes one item per person, each checked on its own.
    slices: dict[tuple[str, ...], list[tuple[StoredFile, classify.Classified, Path]]] = {}
    for stored, c, source in found:
        if c.kind == "cbct" and c.dicom and c.dicom.series_uid:
            who = (c.dicom.series_uid, c.dicom.patient_name, c.dicom.patient_id,
                   c.dicom.birth_raw)
            slices.setdefault(who, []).append((stored, c, source))
            continue
        taken = (c.dicom.taken_at if c.dicom else None) or _exif_taken(stored.path, c.format)
        taken = taken or _mtime_utc(source)
        up = UploadFile(stored.sha256, stored.size, stored.path, source.name)
        report.items.append(Prepared(
            stored.sha256, stored.size, source.name, kind or c.kind, c.format, taken,
            dicom=c.dicom, uploads=(up,), sources=(source,),
        ))
    for key, parts in slices.items():
        report.items.append(series_item(store, key[0], parts))
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


def reason_for(path: Path, exc: Exception) -> str:
    if isinstance(exc, ImagingError):
        return str(exc)
    if isinstance(exc, PermissionError):
        return f"{path.name} cannot be read: permission denied."
    if isinstance(exc, FileNotFoundError):
        return f"{path.name} is no longer there."
    return f"{path.name} could not be read ({exc})."
