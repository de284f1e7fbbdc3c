"""What a file is, by its content first and its name only as a hint.

Photos and X-rays (PNG, JPEG, TIFF): a colour picture is a photo (facial when the
name says "face", else intraoral); a grey one is an X-ray. DICOM is recognised by
"DICM" at byte 128 whatever the preamble holds (some are TIFF headers), or, written
without the preamble, by parsing; its kind comes from its modality and SOP class
(app.imaging.dicom_tags). STL / PLY / OBJ are 3D scans (face scans when the
name says so, else intraoral). Anything else is kept as "other".
"""

from __future__ import annotations

import re
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path

from app.imaging import dicom, dicom_tags, sealed
from app.imaging.errors import DamagedFileError, ImagingError

SNIFF = 4096
PHOTO_FORMATS = ("png", "jpeg", "tiff")
MESH_FORMATS = ("stl", "ply", "obj")
_FACE = re.compile(r"face|facial|smile|portrait", re.IGNORECASE)
_OBJ_LINE = re.compile(rb"^\s*(v|vn|vt|f|o|g|usemtl|mtllib|s)\s", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Classified:
    format: str  # png, jpeg, tiff, dicom, stl, ply, obj, unknown
    kind: str  # one of app.core.wire.IMAGE_KINDS
    dicom: dicom.DicomInfo | None = None

    @property
    def is_mesh(self) -> bool:
        return self.format in MESH_FORMATS


def sniff(path: Path, name: str | None = None) -> str:
    """The format from the first bytes (and, for binary STL, the size); `name` (the
    original file name, when `path` is a stored copy) is only a hint."""
    suffix = Path(name or path.name).suffix.lower()
    with sealed.open_read(path) as f:
        head = f.read(SNIFF)
        size = f.seek(0, 2)
    if not head:
        raise DamagedFileError(f"{path.name} is empty (0 bytes).")
    # DICOM first: some devices write a TIFF header into the 128-byte preamble so
    # that the same file opens as a TIFF, but it is a DICOM file with a patient.
    if len(head) >= 132 and head[128:132] == b"DICM":
        return "dicom"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if head.startswith(b"ply\n") or head.startswith(b"ply\r\n"):
        return "ply"
    if head.lstrip().lower().startswith(b"solid") and b"facet" in head.lower():
        return "stl"
    if len(head) >= 84:
        (count,) = struct.unpack_from("<I", head, 80)
        if count and size == 84 + 50 * count:
            return "stl"
    if len(_OBJ_LINE.findall(head)) >= 3 and b"\x00" not in head:
        return "obj"
    if suffix in (".dcm", ".dicom") or dicom.looks_headerless(path):
        return "dicom"  # a DICOM without the standard preamble: parsing decides below
    return "unknown"


def _picture_kind(path: Path, name: str) -> str:
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with sealed.open_read(path) as f, Image.open(f) as im:
                mode = im.mode
    except (OSError, ValueError, Image.DecompressionBombError):
        # Undecodable headers are reported when a thumbnail is made; the file is kept.
        mode = "RGB"
    grey = mode in ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F")
    if grey:
        return "xray"
    return "facial_photo" if _FACE.search(name) else "intraoral_photo"


def _has_magic(path: Path) -> bool:
    with sealed.open_read(path) as f:
        return f.read(132)[128:132] == b"DICM"


def classify(path: Path) -> Classified:
    return classify_as(path, Path(path).name)


def classify_as(path: Path, name: str) -> Classified:
    """Classify the file at `path`, originally called `name`. Raises DamagedFileError
    for an empty file or a damaged DICOM header; a file that merely claimed to be
    DICOM by its name is kept as "other"."""
    path = Path(path)
    fmt = sniff(path, name)
    if fmt in PHOTO_FORMATS:
        return Classified(fmt, _picture_kind(path, name))
    if fmt == "dicom":
        try:
            info = dicom.header(path)
        except ImagingError:
            if Path(name).suffix.lower() in (".dcm", ".dicom") or _has_magic(path):
                raise  # it says it is DICOM: refused with the reason
            return Classified("unknown", "other")
        said = dict(info.details)
        description = " ".join(said.get(k, "") for k in ("Study", "Series", "View", "Body part"))
        kind = dicom_tags.kind_of(info.modality, info.sop_class, info.is_image,
                                  info.photometric not in ("", "MONOCHROME1", "MONOCHROME2"),
                                  description, name)
        return Classified("dicom", kind, info)
    if fmt in MESH_FORMATS:
        return Classified(fmt, "face_scan" if _FACE.search(name) else "intraoral_scan")
    return Classified("unknown", "other")
