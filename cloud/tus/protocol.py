"""tus 1.0.0 headers: versions, metadata, checksums and dates.

Checksums of a chunk (Upload-Checksum): sha1 (what the tus standard asks every server
to take), sha256, and crc32 — the CRC-32 of zlib (IEEE 802.3), its digest the four
bytes big-endian. crc32 is what our agent sends: a chunk's checksum catches a chunk
damaged on its way, while the file's own SHA-256 (metadata `sha256`, checked on its last
byte) names and proves the whole; CRC-32 costs a fraction of a SHA pass on both sides.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import re
import zlib
from dataclasses import dataclass
from email.utils import format_datetime
from typing import Any

from app.core.ids import is_uuid
from app.core.wire import text_problem
from cloud.crud import Refused

TUS_VERSION = "1.0.0"
EXTENSIONS = "creation,creation-with-upload,checksum,termination,expiration"
EXTENSIONS_WITHOUT_CHECKSUM = "creation,creation-with-upload,termination,expiration"
CHECKSUM_ALGORITHMS = ("sha1", "sha256", "crc32")
OFFSET_CONTENT_TYPE = "application/offset+octet-stream"
IMAGE_KINDS = ("intraoral_scan", "face_scan", "intraoral_photo", "facial_photo", "xray",
               "panoramic", "cephalometric", "cbct", "document", "other")
ALREADY_STORED = "Chairside-Already-Stored"
UPLOAD_BUSY = "Chairside-Upload-Busy"
# Sent by our client only: it understands the "already stored" creation answer.
ASK_STORED = "Chairside-Ask-Stored"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_KEY = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
_DIGITS = re.compile(r"^[0-9]{1,19}$")


def http_date(when: dt.datetime) -> str:
    return format_datetime(when.astimezone(dt.UTC), usegmt=True)


def parse_uint(value: str | None, name: str) -> int:
    if value is None:
        raise Refused(400, f"{name} header is required")
    if not _DIGITS.match(value.strip()):
        raise Refused(400, f"{name} must be a non-negative integer")
    return int(value.strip())


def parse_metadata(header: str | None) -> dict[str, str]:
    """`key base64, key base64, key`; values must be UTF-8."""
    out: dict[str, str] = {}
    if not header or not header.strip():
        return out
    for pair in header.split(","):
        parts = pair.strip().split(" ")
        if len(parts) > 2 or not _KEY.match(parts[0]):
            raise Refused(400, "Upload-Metadata is malformed")
        key = parts[0]
        if key in out:
            raise Refused(400, f"Upload-Metadata repeats the key {key}")
        raw = b""
        if len(parts) == 2:
            try:
                raw = base64.b64decode(parts[1], validate=True)
            except (binascii.Error, ValueError):
                raise Refused(400, f"Upload-Metadata value of {key} is not base64") from None
        try:
            out[key] = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise Refused(400, f"Upload-Metadata value of {key} is not UTF-8") from None
    return out


def check_filename(name: str) -> str:
    if not name or len(name) > 255:
        raise Refused(400, "filename must be 1 to 255 characters")
    if text_problem(name) or "\t" in name or "\n" in name or "\r" in name:
        raise Refused(400, "filename contains a control or NUL character")
    if "/" in name or "\\" in name or name in (".", "..") or ".." in name.split("."):
        raise Refused(400, "filename must be a plain name, without a path or '..'")
    if ".." in name:
        raise Refused(400, "filename must not contain '..'")
    return name


@dataclass(frozen=True, slots=True)
class ImageMeta:
    sha256: str
    patient_id: str
    kind: str
    filename: str


def image_meta(meta: dict[str, str]) -> ImageMeta:
    missing = [k for k in ("sha256", "patient_id", "kind", "filename") if not meta.get(k)]
    if missing:
        raise Refused(400, f"Upload-Metadata must carry {', '.join(missing)}")
    sha = meta["sha256"].lower()
    if not _SHA256.match(sha):
        raise Refused(400, "sha256 metadata must be 64 hex digits")
    if not is_uuid(meta["patient_id"]):
        raise Refused(400, "patient_id metadata must be a UUID")
    if meta["kind"] not in IMAGE_KINDS:
        raise Refused(400, f"kind metadata must be one of {', '.join(IMAGE_KINDS)}")
    return ImageMeta(sha, meta["patient_id"].lower(), meta["kind"],
                     check_filename(meta["filename"]))


class Crc32:
    """zlib.crc32 behind hashlib's interface (update, digest, copy)."""

    digest_size = 4

    def __init__(self, value: int = 0) -> None:
        self.value = value

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self.value = zlib.crc32(data, self.value)

    def digest(self) -> bytes:
        return self.value.to_bytes(4, "big")

    def copy(self) -> Crc32:
        return Crc32(self.value)


def new_hasher(algorithm: str) -> Any:
    return Crc32() if algorithm == "crc32" else hashlib.new(algorithm)


@dataclass(frozen=True, slots=True)
class Checksum:
    algorithm: str
    digest: bytes

    def hasher(self) -> Any:
        return new_hasher(self.algorithm)


def parse_checksum(header: str | None) -> Checksum | None:
    if header is None:
        return None
    parts = header.strip().split(" ")
    if len(parts) != 2:
        raise Refused(400, "Upload-Checksum must be '<algorithm> <base64 digest>'")
    algo, b64 = parts[0].lower(), parts[1]
    if algo not in CHECKSUM_ALGORITHMS:
        raise Refused(400, f"unsupported checksum algorithm; use one of "
                      f"{', '.join(CHECKSUM_ALGORITHMS)}")
    try:
        digest = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        raise Refused(400, "Upload-Checksum digest is not base64") from None
    if len(digest) != new_hasher(algo).digest_size:
        raise Refused(400, f"Upload-Checksum digest has the wrong length for {algo}")
    return Checksum(algo, digest)
