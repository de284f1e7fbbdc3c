"""Does a DICOM file reach its end: the element stream walked without decoding values.

pydicom reads a cut-short file with a warning and hands back whatever it got, so it
cannot tell a device's half-written file from a whole one. Here every element's
length is checked against the file, every undefined-length sequence and item must be
closed by its delimiter, and the last element must end exactly at the end of the
file. A cut at an element boundary of the top-level dataset leaves a well-formed
stream; an image object is then caught by its missing pixel data.
"""

from __future__ import annotations

import mmap
import os
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_BE = "1.2.840.10008.1.2.2"
DEFLATED = ("1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.8.1")
_LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR",
             b"UT", b"UV"}
PIXEL_TAGS = (0x7FE00010, 0x7FE00008, 0x7FE00009)
UNDEFINED = 0xFFFFFFFF
# A file is walked mapped (mmap), a deflated body or a test's bytes in memory.
Data = bytes | mmap.mmap
ITEM, ITEM_END, SEQ_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
ROWS = 0x00280010
SOP_CLASS = 0x00080016
# What a non-image object cannot be without: a file that stops at an element boundary
# before it is caught here. Keyed by words of the SOP class name.
REQUIRED = (
    ("Structured Report", "SR Storage", (0x0040A730,)),
    ("Waveform", "ECG", (0x54000100,)),
    ("Encapsulated", "Encapsulated", (0x00420011,)),
    ("Plan Storage", "Plan Storage", (0x300A00B0, 0x300A0230, 0x300A03A2)),
    ("Structure Set", "Structure Set", (0x30060020,)),
    ("RT Dose", "RT Dose", (*PIXEL_TAGS, 0x30040050)),
    ("Palette", "Color Palette", (0x00281201, 0x00281221)),
    ("DICOMDIR", "Directory Storage", (0x00041220,)),
)
WAVEFORM = 0x54000100


class Cut(Exception):
    """The stream ends before its structure does."""


@dataclass
class Walk:
    top_tags: list[int] = field(default_factory=list)
    syntax: str = ""
    sop_class: str = ""


@dataclass
class _Reader:
    data: Data
    little: bool
    implicit: bool
    sop_class: str = ""

    def header(self, pos: int) -> tuple[int, bytes | None, int, int]:
        """(tag, vr, length, position of the value)."""
        d = self.data
        if pos + 8 > len(d):
            raise Cut(f"an element header at byte {pos} is cut short")
        order = "<" if self.little else ">"
        group, elem = struct.unpack_from(order + "HH", d, pos)
        tag = (group << 16) | elem
        if group == 0xFFFE or self.implicit:
            (length,) = struct.unpack_from(order + "I", d, pos + 4)
            return tag, None, length, pos + 8
        vr = d[pos + 4 : pos + 6]
        if vr in _LONG_VRS:
            if pos + 12 > len(d):
                raise Cut(f"an element header at byte {pos} is cut short")
            (length,) = struct.unpack_from(order + "I", d, pos + 8)
            return tag, vr, length, pos + 12
        (length,) = struct.unpack_from(order + "H", d, pos + 6)
        return tag, vr, length, pos + 8

    def dataset(self, pos: int, end: int | None, tags: list[int] | None = None) -> int:
        """Walk elements from pos to `end` (a defined length) or, with end None, to an
        item delimiter; the position after."""
        limit = len(self.data) if end is None else end
        while pos < limit:
            tag, vr, length, value = self.header(pos)
            if tag == ITEM_END:
                if end is None:
                    return value
                raise Cut("an item ends where it should not")
            if tags is not None:
                if tag >> 16 == 0:
                    raise Cut("the stream holds no DICOM dataset")
                tags.append(tag)
                if tag == SOP_CLASS and length < 128:
                    self.sop_class = _uid(self.data[value : value + length])
            pos = self.element(tag, vr, length, value)
        if end is None:
            raise Cut("an item is not closed: the file stops inside it")
        if pos != end:
            raise Cut("an element runs past the end of its item")
        return pos

    def element(self, tag: int, vr: bytes | None, length: int, value: int) -> int:
        if length != UNDEFINED:
            if value + length > len(self.data):
                raise Cut(f"element ({tag >> 16:04X},{tag & 0xFFFF:04X}) is cut short")
            return value + length
        inner = self
        if vr == b"UN" and not self.implicit:  # an unknown sequence is implicit inside
            inner = _Reader(self.data, True, True)
        return inner.sequence(value)

    def sequence(self, pos: int) -> int:
        while True:
            tag, _vr, length, value = self.header(pos)
            if tag == SEQ_END:
                return value
            if tag != ITEM:
                raise Cut(f"a sequence holds a stray element at byte {pos}")
            if length == UNDEFINED:
                pos = self.dataset(value, None)
            else:
                if value + length > len(self.data):
                    raise Cut("a sequence item is cut short")
                pos = value + length


def _uid(raw: bytes) -> str:
    return bytes(raw).rstrip(b"\x00 ").decode("ascii", "replace")


def _meta(data: Data) -> tuple[int, str, str]:
    """Where the dataset starts, its transfer syntax and SOP class ("" when no meta
    header)."""
    start = 132 if data[128:132] == b"DICM" else 0
    if len(data) < start + 8:
        raise Cut("the file meta header is cut short")
    if data[start : start + 2] != b"\x02\x00":
        return start, "", ""
    reader = _Reader(data, True, False)
    pos, syntax, sop, meta_end = start, "", "", None
    while pos + 8 <= len(data) and data[pos : pos + 2] == b"\x02\x00":
        tag, vr, length, value = reader.header(pos)
        pos = reader.element(tag, vr, length, value)
        if tag == 0x00020000 and length == 4:
            meta_end = pos + struct.unpack_from("<I", data, value)[0]
        elif tag == 0x00020010:
            syntax = _uid(data[value : value + length])
        elif tag == 0x00020002:
            sop = _uid(data[value : value + length])
    if meta_end is not None and meta_end > len(data):
        raise Cut("the file meta header is cut short")
    return pos, syntax, sop


def _guess_implicit(data: Data, pos: int) -> bool:
    vr = data[pos + 4 : pos + 6]
    return not (len(vr) == 2 and vr.isalpha() and vr.isupper())


def walk_bytes(data: Data) -> Walk:
    """Raises Cut with the reason when the stream stops before its structure does."""
    pos, syntax, sop = _meta(data)
    out = Walk(syntax=syntax, sop_class=sop)
    if syntax in DEFLATED:
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        try:
            body = inflater.decompress(bytes(data[pos:])) + inflater.flush()
        except zlib.error as exc:
            raise Cut(f"the compressed dataset is damaged ({exc})") from None
        if not inflater.eof:
            raise Cut("the compressed dataset stops before its end")
        data, pos = body, 0
    if pos >= len(data):
        raise Cut("the file holds only its header: the dataset has not arrived")
    # As pydicom does: the bytes, not the declared syntax, tell explicit from implicit
    # VR (some writers declare one and write the other).
    implicit = _guess_implicit(data, pos)
    little = syntax != EXPLICIT_BE if syntax else data[pos : pos + 2] != b"\x00\x08"
    if data[pos : pos + 2] == b"\x00\x00":
        raise Cut("the stream holds no DICOM dataset")
    reader = _Reader(data, little, implicit)
    reader.dataset(pos, len(data), out.top_tags)
    out.sop_class = reader.sop_class or out.sop_class
    return out


def sop_class_name(uid: str) -> str:
    if not uid:
        return ""
    from pydicom.uid import UID

    name = UID(uid).name
    return "" if name == uid else name


def _missing(found: Walk) -> str | None:
    tags = set(found.top_tags)
    name = sop_class_name(found.sop_class)
    has_pixels = bool(tags & set(PIXEL_TAGS))
    if not has_pixels and (ROWS in tags or ("Image Storage" in name
                                            and "Presentation" not in name)):
        return ("the DICOM image has no pixel data: it is cut short, or an image "
                "object written without its image")
    for _label, words, needed in REQUIRED:
        if words in name and not tags & set(needed):
            return f"the DICOM {name} stops before its content: it is cut short"
    return None


def walk(path: Path) -> Walk:
    """Mapped, not read: a several-GB CBCT costs no memory to walk."""
    with open(path, "rb") as f:
        if os.fstat(f.fileno()).st_size == 0:
            raise Cut("the file is empty")
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return walk_bytes(data)


def end_is_known(path: Path) -> bool:
    """Whether a whole-looking DICOM is known to be whole: an image with its pixel
    data, or an object whose content element is there. Anything else (a presentation
    state, a key-object note) could have been cut at an element boundary."""
    try:
        found = walk(path)
    except Cut:
        return True  # incomplete() says why
    tags = set(found.top_tags)
    if tags & set(PIXEL_TAGS):
        return True
    name = sop_class_name(found.sop_class)
    return any(words in name for _label, words, _needed in REQUIRED)


def incomplete(path: Path) -> str | None:
    """None when the DICOM file reaches its end, else why not (in words)."""
    try:
        found = walk(path)
    except Cut as exc:
        return f"the DICOM file is cut short ({exc})"
    return _missing(found)
