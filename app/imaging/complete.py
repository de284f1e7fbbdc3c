"""Is a file in the acquisition folder whole: the end its format promises is there.

A device may pause for seconds in the middle of a file (a network share, a sensor
that writes its pixels after the header), so a size that stays the same is not
enough. Each format is checked for what marks its end: DICOM parses to its end
(app.imaging.dicom_walk), every TIFF directory and strip lies inside the file, PNG
has its IEND chunk, JPEG its end-of-image marker, STL and PLY the triangles their
header counts, an OBJ ends its last line with every face's corners present, a PDF
has its %%EOF and a ZIP its end record. A file whose format marks no end is taken
only after a long quiet (`has_provable_end`).
"""

from __future__ import annotations

import os
import re
import struct
from pathlib import Path
from typing import BinaryIO

from app.imaging import classify, dicom, dicom_walk
from app.imaging.errors import ImagingError

PLY_CHECK_MAX = 256 * 1024 * 1024  # larger models are judged by stable size alone
OBJ_CHECK_MAX = 256 * 1024 * 1024
ZERO_TAIL = 64 * 1024  # this much zeros at the end looks like space set aside, not data
_PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"
_TIFF_TYPES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8,
               13: 4, 16: 8, 17: 8, 18: 8}
_STRIPS = ((273, 279), (324, 325))  # StripOffsets/ByteCounts, TileOffsets/ByteCounts
_OBJ_FACE = re.compile(rb"^f\s+(.*)$", re.MULTILINE)
_OBJ_VERTEX = re.compile(rb"^v\s", re.MULTILINE)


def has_provable_end(path: Path) -> bool:
    """Whether the file's format marks its end (so incomplete_reason can tell a
    paused writer from a finished one). Files that do not — a format we do not know,
    a BigTIFF, a model too large to check — are taken only after a long quiet."""
    try:
        fmt = classify.sniff(path)
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(4)
    except (ImagingError, OSError):
        return True  # reported by incomplete_reason
    if _zero_tail(path, size):
        # A copier that sets the final size first leaves zeros where the rest will go;
        # uncompressed pixels may end in zeros too (a black border), so only a long
        # quiet tells them apart.
        return False
    if fmt == "unknown":
        return (path.suffix.lower() == ".stl" and size >= 84) or head.startswith(
            (b"%PDF", b"PK\x03\x04"))
    if fmt == "tiff":
        return head[2:4] in (b"*\x00", b"\x00*")
    if fmt == "dicom":
        return dicom_walk.end_is_known(path)
    if fmt == "ply":
        return size <= PLY_CHECK_MAX
    if fmt == "obj":
        return size <= OBJ_CHECK_MAX
    return True


def _zero_tail(path: Path, size: int) -> bool:
    span = min(ZERO_TAIL, size // 4)
    if span < 512:
        return False
    with open(path, "rb") as f:
        f.seek(size - span)
        return not f.read(span).strip(b"\x00")


def incomplete_reason(path: Path) -> str | None:
    """None when the file reads as whole, else why it does not (yet)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 64))
            tail = f.read()
        fmt = classify.sniff(path)
        return _by_format(path, fmt, size, tail)
    except ImagingError as exc:
        return str(exc)
    except OSError as exc:
        return f"cannot be read yet ({exc.strerror or exc})"


def _by_format(path: Path, fmt: str, size: int, tail: bytes) -> str | None:
    stripped = tail.rstrip(b"\x00\r\n ")
    # Data after the end marker is judged by decoding, but never zeros: a copier that
    # sets the final size first leaves the unwritten rest as zeros.
    trailer = not tail.endswith(b"\x00")
    if fmt == "jpeg" and not stripped.endswith(b"\xff\xd9") and not (
            trailer and _decodes(path)):
        return "the JPEG has no end marker: it is incomplete or damaged"
    if fmt == "png" and not tail.endswith(_PNG_END) and not (trailer and _decodes(path)):
        return "the PNG has no end chunk: it is incomplete or damaged"
    if fmt == "tiff":
        return tiff_incomplete(path, size)
    if fmt == "dicom":
        if not _dicom_magic(path) and not dicom.looks_headerless(path):
            return None  # not DICOM whatever its name says: refused when it is read
        return dicom_walk.incomplete(path)
    if fmt == "stl":
        with open(path, "rb") as f:
            text_model = f.read(5).lower() == b"solid" and b"facet" in f.read(4096).lower()
        if text_model and b"endsolid" not in tail.lower():
            return "the STL text model is cut short"
    if fmt == "ply" and size <= PLY_CHECK_MAX:
        # The header counts the corners and triangles that must follow.
        from app.imaging import mesh  # numpy: not at start-up

        try:
            mesh.load(path, "ply")
        except ImagingError as exc:
            return f"the PLY model is incomplete ({exc})"
    if fmt == "obj" and size <= OBJ_CHECK_MAX:
        return obj_incomplete(path, tail)
    if fmt == "unknown":
        return _document_incomplete(path, size, tail)
    return None


def _document_incomplete(path: Path, size: int, tail: bytes) -> str | None:
    """PDF letters and ZIP exports also say where they end."""
    with open(path, "rb") as f:
        head = f.read(4)
        if head == b"%PDF" and b"%%EOF" not in tail:
            return "the PDF has no end marker: it is incomplete or damaged"
        if head == b"PK\x03\x04":
            f.seek(max(0, size - 65_557))  # the end record and its longest comment
            if b"PK\x05\x06" not in f.read():
                return "the ZIP archive has no end record: it is incomplete or damaged"
    if path.suffix.lower() == ".stl" and size >= 84:
        # A binary STL names its triangle count up front: fewer bytes mean more to come.
        with open(path, "rb") as f:
            f.seek(80)
            count = int.from_bytes(f.read(4), "little")
        if 84 + 50 * count > size:
            return "the binary STL is cut short"
    return None


def _decodes(path: Path) -> bool:
    """Some cameras append data after a picture's end (a phone's "motion photo"
    carries its video there): whole if the picture itself decodes to its end."""
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as im:
                if im.format == "JPEG":
                    im.draft("L", (64, 64))
                im.load()
        return True
    except Exception:  # truncated, damaged or refused: not whole
        return False


def _dicom_magic(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(132)[128:132] == b"DICM"


def tiff_incomplete(path: Path, size: int) -> str | None:
    """Every image directory, every value it points to and every strip or tile must
    lie inside the file."""
    with open(path, "rb") as f:
        head = f.read(8)
        order = "<" if head[:2] == b"II" else ">"
        if struct.unpack_from(order + "H", head, 2)[0] != 42:
            return None  # BigTIFF: judged by stable size alone
        offset = struct.unpack_from(order + "I", head, 4)[0]
        seen: set[int] = set()
        while offset and offset not in seen:
            seen.add(offset)
            if offset + 2 > size:
                return "the TIFF stops before one of its image directories"
            f.seek(offset)
            (count,) = struct.unpack(order + "H", f.read(2))
            block = f.read(count * 12 + 4)
            if len(block) < count * 12 + 4:
                return "the TIFF stops inside one of its image directories"
            values: dict[int, list[int]] = {}
            for i in range(count):
                tag, typ, n, value = struct.unpack_from(order + "HHII", block, i * 12)
                width = _TIFF_TYPES.get(typ, 1) * n
                if width > 4 and value + width > size:
                    return "the TIFF stops before the end of its image data"
                if tag in (273, 279, 324, 325):
                    values[tag] = _numbers(f, order, typ, n, value, block[i * 12 + 8:i * 12 + 12])
            for off_tag, len_tag in _STRIPS:
                for start, length in zip(values.get(off_tag, []), values.get(len_tag, []),
                                         strict=False):
                    if start + length > size:
                        return "the TIFF stops before the end of its image data"
            (offset,) = struct.unpack_from(order + "I", block, count * 12)
    return None


def _numbers(f: BinaryIO, order: str, typ: int, n: int, offset: int, inline: bytes
             ) -> list[int]:
    code = {3: "H", 4: "I", 16: "Q"}.get(typ)
    if code is None:
        return []
    width = struct.calcsize(code) * n
    if width <= 4:
        raw = inline[:width]
    else:
        here = f.tell()
        f.seek(offset)
        raw = f.read(width)
        f.seek(here)
    if len(raw) < width:
        return []
    return list(struct.unpack(order + code * n, raw))


def obj_incomplete(path: Path, tail: bytes) -> str | None:
    """An OBJ declares no counts: its last line must be finished, it must have faces,
    and every face's corners must be among the vertices written."""
    if not tail.endswith((b"\n", b"\r")):
        return "the OBJ model stops in the middle of a line"
    data = Path(path).read_bytes()
    vertices = len(_OBJ_VERTEX.findall(data))
    faces = _OBJ_FACE.findall(data)
    if not faces:
        return "the OBJ model has no faces yet"
    top = 0
    for line in faces:
        for corner in line.split():
            first = corner.split(b"/")[0]
            if first.lstrip(b"-").isdigit():
                top = max(top, int(first))
    if top > vertices:
        return "the OBJ model refers to corners that are not written yet"
    return None
