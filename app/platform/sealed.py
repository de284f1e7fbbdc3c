"""Files encrypted at rest: AES-256-GCM in the STREAM construction.

Used for the PC's image store, thumbnails, manifests and recovery folder
(app.imaging.sealed re-exports it) and for the cloud's folder blob store: Qt- and
SQL-free, so the cloud may import it.

A sealed file is a header followed by segments:

    header   = MAGIC (8 bytes) | key id (8) | wrapped data key (40) | nonce prefix (7)
             = 63 bytes
    segment  = AES-256-GCM(data key, nonce, plaintext of 64 KiB) = 65 536 + 16 bytes
    nonce    = nonce prefix (7) | segment counter (4, big-endian) | last flag (1)

Envelope encryption: every file has a random data key of its own, kept in its header
wrapped with the store key (AES key wrap, RFC 3394, which also checks it unwrapped
whole). The store key can so be changed by re-wrapping each header (`rewrap`: 48 bytes
written in place), without reading or writing any file's content. Every segment holds
64 KiB of plaintext except the last, which holds 0 to 64 KiB and is the only one whose
last flag is 1: a file cut at a segment boundary, segments reordered or swapped between
files all fail authentication (Hoang, Reyhanitabar, Rogaway, Vizár, "Online
Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance", 2015; the layout of
Tink's streaming AEAD). A changed wrapped key fails its unwrapping, a changed nonce
prefix every segment. Segments are independent, so any byte range is read by
decrypting only the segments it covers (the agent resumes an upload at an offset;
pydicom seeks to one frame).

Files of the first version (MAGIC ending in 01 00) have a 16-byte salt in place of the
wrapped key, and a file key HKDF-SHA256(store key, salt, "chairside image segment key
v1") derived from the store key; they are still read, and `rewrap` turns one into
the current version (which, for them only, rewrites the file).

The key id (HMAC-SHA256(store key, "key id")[:8]) tells which key a file needs; keys
this process has been given are kept in memory by id (`remember`), so a reader needs
only the path. Files without MAGIC are read as they are: stores written before
encryption keep working while they are migrated.

All the cryptography is `cryptography`'s (AESGCM, AES key wrap, HKDF); nothing here is
a cipher.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import os
import secrets
import threading
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, cast

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.keywrap import (
    InvalidUnwrap,
    aes_key_unwrap,
    aes_key_wrap,
)

from app.platform.file_errors import DamagedFileError, ImagingError

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

MAGIC = b"CSSEAL\x02\x00"
MAGIC_V1 = b"CSSEAL\x01\x00"
KEY_ID = 8
WRAPPED = 40  # a 32-byte key wrapped (RFC 3394)
SALT = 16  # version 1
PREFIX = 7
HEADER = len(MAGIC) + KEY_ID + WRAPPED + PREFIX
HEADER_V1 = len(MAGIC_V1) + KEY_ID + SALT + PREFIX
SEGMENT = 64 * 1024
TAG = 16
_INFO = b"chairside image segment key v1"

_keys: dict[bytes, bytes] = {}
_keys_lock = threading.Lock()


class KeyUnavailableError(ImagingError):
    pass


def new_key() -> bytes:
    return secrets.token_bytes(32)


def key_id(key: bytes) -> bytes:
    return hmac.new(key, b"chairside image key id", hashlib.sha256).digest()[:KEY_ID]


def remember(key: bytes) -> bytes:
    """Make files sealed with `key` readable in this process; returns its id."""
    if len(key) != 32:
        raise ValueError("an image store key is 32 bytes")
    kid = key_id(key)
    with _keys_lock:
        _keys[kid] = key
    return kid


def forget(key: bytes) -> None:
    """This process no longer reads files sealed with `key` (a database closed for
    good; tests of a lost keyring)."""
    with _keys_lock:
        _keys.pop(key_id(key), None)


def _key_for(kid: bytes) -> bytes:
    with _keys_lock:
        key = _keys.get(kid)
    if key is None:
        raise KeyUnavailableError(
            "The key of the image store is not available on this computer; the images "
            "cannot be opened until the practice database is opened or restored."
        )
    return key


def _file_key(key: bytes, salt: bytes) -> AESGCM:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=_INFO).derive(key)
    return AESGCM(derived)


def _unwrap(key: bytes, wrapped: bytes, name: str) -> bytes:
    try:
        return aes_key_unwrap(key, wrapped)
    except InvalidUnwrap:
        raise DamagedFileError(f"{name} is damaged (its key does not unwrap).") from None


def _header_key(head: bytes, name: str) -> tuple[AESGCM, bytes, int]:
    """(segment cipher, nonce prefix, header length) of a sealed file's header."""
    kid = head[len(MAGIC):len(MAGIC) + KEY_ID]
    if head.startswith(MAGIC_V1) and len(head) >= HEADER_V1:
        salt = head[len(MAGIC) + KEY_ID:len(MAGIC) + KEY_ID + SALT]
        return _file_key(_key_for(kid), salt), head[HEADER_V1 - PREFIX:HEADER_V1], HEADER_V1
    if len(head) < HEADER or not head.startswith(MAGIC):
        raise DamagedFileError(f"{name} is damaged (its encryption header is cut).")
    wrapped = head[len(MAGIC) + KEY_ID:len(MAGIC) + KEY_ID + WRAPPED]
    return AESGCM(_unwrap(_key_for(kid), wrapped, name)), head[HEADER - PREFIX:HEADER], HEADER


def rewrap(path: Path | str, new_key: bytes) -> bool:
    """Seal the file at `path` under `new_key` (its old key must be remembered):
    the data key is unwrapped and wrapped again, and only the header's key id and
    wrapped key are written, in place (one sector). A first-version file is sealed
    again whole, beside itself, then renamed over. False when it was already."""
    path = Path(path)
    with open(path, "rb") as f:
        head = f.read(HEADER)
    kid = head[len(MAGIC):len(MAGIC) + KEY_ID]
    if head.startswith(MAGIC) and len(head) == HEADER:
        if kid == key_id(new_key):
            return False
        data_key = _unwrap(_key_for(kid), head[len(MAGIC) + KEY_ID:HEADER - PREFIX],
                           path.name)
        mode = os.stat(path).st_mode & 0o777
        os.chmod(path, mode | 0o200)  # stored blobs are read-only
        try:
            with open(path, "r+b") as f:
                f.seek(len(MAGIC))
                f.write(key_id(new_key) + aes_key_wrap(new_key, data_key))
                f.flush()
                os.fsync(f.fileno())
        finally:
            os.chmod(path, mode)
        return True
    remember(new_key)
    tmp = path.with_name(path.name + f".{os.getpid()}.rewrap")
    try:
        with open_read(path) as src, open(tmp, "wb") as out:
            writer = SealWriter(out, new_key)
            while block := src.read(1024 * 1024):
                writer.write(block)
            writer.close()
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, os.stat(path).st_mode & 0o777)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return True


def _nonce(prefix: bytes, index: int, last: bool) -> bytes:
    return prefix + index.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


def is_sealed(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(len(MAGIC)) in (MAGIC, MAGIC_V1)
    except OSError:
        return False


class SealWriter:
    """Encrypts what is written to `out` (a binary file open for writing). `close`
    writes the last segment; it does not close `out`."""

    def __init__(self, out: BinaryIO, key: bytes) -> None:
        data_key, self._prefix = new_key(), secrets.token_bytes(PREFIX)
        self._aead = AESGCM(data_key)
        self._out = out
        self._buf = bytearray()
        self._index = 0
        out.write(MAGIC + key_id(key) + aes_key_wrap(key, data_key) + self._prefix)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._buf += data
        # A full segment is written only once more data follows it: the last segment
        # (which may be full) carries the last flag.
        if len(self._buf) > SEGMENT:
            view = memoryview(self._buf)
            n = (len(self._buf) - 1) // SEGMENT * SEGMENT
            for start in range(0, n, SEGMENT):
                self._seal(view[start:start + SEGMENT], last=False)
            view.release()
            del self._buf[:n]

    def _seal(self, plain: bytes | bytearray | memoryview, last: bool) -> None:
        nonce = _nonce(self._prefix, self._index, last)
        self._out.write(self._aead.encrypt(nonce, bytes(plain), None))
        self._index += 1

    def close(self) -> None:
        self._seal(self._buf, last=True)
        self._buf = bytearray()


class Blob:
    """A stored file opened for reading at any offset: `read_at` is stateless (pread),
    so one Blob may serve several threads. `size` is the plaintext size."""

    size: int

    def read_at(self, offset: int, n: int) -> bytes:
        raise NotImplementedError

    def identity(self) -> tuple[int, int, int, int]:
        st = os.fstat(self.fd)
        return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)

    def close(self) -> None:
        os.close(self.fd)

    def __enter__(self) -> Blob:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    fd: int


class PlainBlob(Blob):
    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.size = os.fstat(fd).st_size

    def read_at(self, offset: int, n: int) -> bytes:
        return os.pread(self.fd, n, offset)


class SealedBlob(Blob):
    def __init__(self, fd: int, name: str) -> None:
        self.fd, self.name = fd, name
        self._aead, self._prefix, self.header = _header_key(os.pread(fd, HEADER, 0), name)
        self._cache_lock = threading.Lock()
        self._cached: tuple[int, bytes] = (-1, b"")
        body = os.fstat(fd).st_size - self.header
        full, rem = divmod(body, SEGMENT + TAG)
        if rem == 0 and full > 0:
            self.segments, last_len = full, SEGMENT
        elif rem >= TAG:
            self.segments, last_len = full + 1, rem - TAG
        else:
            raise DamagedFileError(f"{name} is damaged (its encrypted content is cut).")
        self.size = (self.segments - 1) * SEGMENT + last_len

    def segment(self, index: int) -> bytes:
        # The last segment decrypted is kept: the agent sends in blocks smaller than
        # a segment, and would otherwise decrypt each segment several times.
        with self._cache_lock:
            if self._cached[0] == index:
                return self._cached[1]
        plain = self._decrypt(index)
        with self._cache_lock:
            self._cached = (index, plain)
        return plain

    def _decrypt(self, index: int) -> bytes:
        last = index == self.segments - 1
        at = self.header + index * (SEGMENT + TAG)
        sealed = os.pread(self.fd, SEGMENT + TAG, at)
        try:
            return self._aead.decrypt(_nonce(self._prefix, index, last), sealed, None)
        except InvalidTag:
            raise DamagedFileError(
                f"{self.name} is damaged (its encrypted content does not authenticate)."
            ) from None

    def read_at(self, offset: int, n: int) -> bytes:
        end = min(offset + n, self.size)
        if offset >= end:
            return b""
        first, last = offset // SEGMENT, (end - 1) // SEGMENT
        if first == last:
            start = offset - first * SEGMENT
            return self.segment(first)[start:start + (end - offset)]
        # Many segments (a frame, a whole pixel array): the ciphertext is read in runs
        # into one reused buffer and decrypted straight into the result, which is
        # returned as it is (a bytearray), so 50 MB cost one allocation, as a plain
        # read does.
        out = bytearray(end - offset)
        target = memoryview(out)
        pos = 0
        whole = SEGMENT + TAG
        run = _RUN // whole
        buf = bytearray(run * whole)
        view = memoryview(buf)
        for start in range(first, last + 1, run):
            count = min(run, last + 1 - start)
            got = _pread_into(self.fd, view[:count * whole], self.header + start * whole)
            for i in range(start, start + count):
                part = view[(i - start) * whole:min((i - start + 1) * whole, got)]
                nonce = _nonce(self._prefix, i, i == self.segments - 1)
                lo, hi = max(offset - i * SEGMENT, 0), min(end - i * SEGMENT, SEGMENT)
                try:
                    if lo == 0 and hi == len(part) - TAG:  # a whole segment: straight in
                        self._aead.decrypt_into(nonce, part, None, target[pos:pos + hi])
                    else:
                        plain = self._aead.decrypt(nonce, part, None)
                        hi = min(hi, len(plain))
                        target[pos:pos + hi - lo] = memoryview(plain)[lo:hi]
                except (InvalidTag, ValueError):
                    raise DamagedFileError(
                        f"{self.name} is damaged (its encrypted content does not "
                        "authenticate)."
                    ) from None
                pos += hi - lo
        return out  # type: ignore[return-value]  # bytes-like; no second copy


_RUN = 1024 * 1024


def _pread_into(fd: int, buf: memoryview, offset: int) -> int:
    if hasattr(os, "preadv"):
        return os.preadv(fd, [buf], offset)
    data = os.pread(fd, len(buf), offset)  # Windows: no preadv
    buf[:len(data)] = data
    return len(data)


def open_blob(path: Path | str) -> Blob:
    """The file at `path`, sealed or plain, for reads at offsets. OSError when it
    cannot be opened; ImagingError when it is sealed and cannot be read."""
    fd = os.open(path, os.O_RDONLY)
    try:
        if os.pread(fd, len(MAGIC), 0) in (MAGIC, MAGIC_V1):
            return SealedBlob(fd, Path(path).name)
        return PlainBlob(fd)
    except BaseException:
        os.close(fd)
        raise


class _SealedStream(io.RawIOBase):
    """A seekable stream of a sealed file's plaintext (owned: closing it closes the
    Blob). The segment last decrypted is kept, so the many small reads of a parser
    cost one decryption per 64 KiB. Deliberately not an io.BufferedReader: pydicom
    would take one for a plain file and re-open it by name for deferred reads."""

    def __init__(self, blob: SealedBlob) -> None:
        self._blob, self._pos = blob, 0
        self._seg_index, self._seg = -1, b""

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def _segment(self, index: int) -> bytes:
        if index != self._seg_index:
            self._seg, self._seg_index = self._blob.segment(index), index
        return self._seg

    def read(self, n: int | None = -1) -> bytes:
        size = self._blob.size
        if n is None or n < 0:
            n = size - self._pos
        end = min(self._pos + n, size)
        if self._pos >= end:
            return b""
        first, last = self._pos // SEGMENT, (end - 1) // SEGMENT
        if first == last:
            start = self._pos - first * SEGMENT
            data = self._segment(first)[start:start + (end - self._pos)]
        elif last - first > 2:  # a large read: straight through, not via the cache
            data = self._blob.read_at(self._pos, end - self._pos)
        else:
            data = b"".join(
                self._segment(i)[max(self._pos - i * SEGMENT, 0):end - i * SEGMENT]
                for i in range(first, last + 1)
            )
        self._pos += len(data)
        return data

    def readall(self) -> bytes:
        # A large read comes as a bytearray (no second copy); io.BufferedReader, which
        # the cloud's blob store wraps around this, accepts only bytes from readall.
        data = self.read(-1)
        return data if isinstance(data, bytes) else bytes(data)

    def readinto(self, buffer: WriteableBuffer, /) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[:len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            pos = offset
        elif whence == io.SEEK_CUR:
            pos = self._pos + offset
        else:
            pos = self._blob.size + offset
        if pos < 0:
            raise OSError("negative seek position")
        self._pos = pos
        return pos

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        if not self.closed:
            self._blob.close()
        super().close()


def open_read(path: Path | str) -> BinaryIO:
    """A seekable binary stream of the plaintext of `path` (sealed or plain): the one
    way images, thumbnails and manifests are read. Nothing is written to disk."""
    blob = open_blob(path)
    if isinstance(blob, SealedBlob):
        # A RawIOBase is a binary stream, though typeshed's io classes do not say so.
        return cast(BinaryIO, _SealedStream(blob))
    blob.close()
    return open(path, "rb")


def export(source: Path | str, target: Path | str) -> None:
    """Write the plaintext of `source` to `target`: a copy the user asked for, in a
    place the user chose (the one way plaintext leaves the store on purpose)."""
    with open_read(source) as src, open(target, "wb") as out:
        while block := src.read(1024 * 1024):
            out.write(block)


def read_plain(path: Path | str) -> bytes:
    """The whole plaintext (small files: a manifest, a thumbnail)."""
    with open_read(path) as f:
        return f.read()


def plain_size(path: Path | str) -> int:
    with open_blob(path) as blob:
        return blob.size


def hash_plain(path: Path | str, block: int = 1024 * 1024) -> tuple[str, int]:
    """(hex SHA-256, size) of the plaintext, streamed."""
    h = hashlib.sha256()
    with open_blob(path) as blob:
        pos = 0
        while pos < blob.size:
            data = blob.read_at(pos, block)
            if not data:
                break
            h.update(data)
            pos += len(data)
        return h.hexdigest(), pos
