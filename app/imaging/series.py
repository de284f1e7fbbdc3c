"""A CBCT series kept as one item: a manifest in the image store.

A CBCT arrives as hundreds of DICOM slices sharing a SeriesInstanceUID. Each slice is
stored under its own hash (so a slice met twice is kept once, and each can be sent
and resumed on its own); the series is a small JSON manifest listing the slices in
order along the slice axis, itself stored under its hash. The record_image row points
at the manifest and carries the series UID, so the whole series is one item in the
record, with one thumbnail (its middle slice) and one identity that changes whenever
its set of slices does.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.imaging import sealed
from app.imaging.dicom import DicomInfo
from app.imaging.errors import DamagedFileError, ImagingError

MAGIC = "chairside-dicom-series/1"


@dataclass(frozen=True, slots=True)
class Slice:
    sha256: str
    size: int
    filename: str
    instance: int | None
    position: float | None


@dataclass(frozen=True, slots=True)
class Manifest:
    series_uid: str
    modality: str
    slices: tuple[Slice, ...]

    @property
    def middle(self) -> Slice:
        return self.slices[len(self.slices) // 2]

    @property
    def total_size(self) -> int:
        return sum(s.size for s in self.slices)

    def merged(self, more: Iterable[Slice]) -> Manifest:
        by_sha = {s.sha256: s for s in self.slices}
        for s in more:
            by_sha.setdefault(s.sha256, s)
        return Manifest(self.series_uid, self.modality, _ordered(by_sha.values()))

    def to_bytes(self) -> bytes:
        body: dict[str, Any] = {
            "format": MAGIC,
            "series_uid": self.series_uid,
            "modality": self.modality,
            "slices": [
                {"sha256": s.sha256, "size": s.size, "filename": s.filename,
                 "instance": s.instance, "position": s.position}
                for s in self.slices
            ],
        }
        return json.dumps(body, indent=1, sort_keys=True).encode()


def _ordered(slices: Iterable[Slice]) -> tuple[Slice, ...]:
    def key(s: Slice) -> tuple[float, float, str]:
        return (
            s.position if s.position is not None else float("inf"),
            float(s.instance) if s.instance is not None else float("inf"),
            s.filename,
        )

    return tuple(sorted(slices, key=key))


def build(series_uid: str, modality: str, parts: Iterable[tuple[str, int, str, DicomInfo]]
          ) -> Manifest:
    """From (sha256, size, filename, header) of each slice."""
    slices = [Slice(sha, size, name, info.instance, info.position)
              for sha, size, name, info in parts]
    return Manifest(series_uid, modality, _ordered({s.sha256: s for s in slices}.values()))


def is_manifest(path: Path) -> bool:
    try:
        with sealed.open_read(path) as f:
            head = f.read(200)
    except (OSError, ImagingError):
        return False
    return head.startswith(b"{") and MAGIC.encode() in head


def load(path: Path) -> Manifest:
    try:
        with sealed.open_read(path) as f:
            body = json.loads(f.read())
        if body.get("format") != MAGIC:
            raise ValueError("not a series manifest")
        slices = tuple(Slice(s["sha256"], int(s["size"]), s["filename"], s.get("instance"),
                             s.get("position")) for s in body["slices"])
    except (ValueError, KeyError, TypeError) as exc:
        raise DamagedFileError(f"The series manifest is damaged ({exc}).") from None
    if not slices:
        raise DamagedFileError("The series has no slices.")
    return Manifest(body["series_uid"], body.get("modality", ""), slices)
