"""A tus 1.0.0 client on requests: creation, HEAD, PATCHes, termination.

It speaks to any tus server: the server's capabilities (OPTIONS: Tus-Extension,
Tus-Checksum-Algorithm) are read once per server, and chunks carry Upload-Checksum only
when the server checks crc32 or sha256 (crc32 when it takes both: it catches a damaged
chunk at a fraction of the cost, and ours checks the whole file's SHA-256 on the last
byte anyway) — without it, the whole file is confirmed through the sync API
(`stored`). Ours adds one thing, only when asked (``Chairside-Ask-Stored``):
creation answers ``Chairside-Already-Stored: true`` with ``Upload-Offset`` equal to
``Upload-Length`` when it already holds the bytes.

Errors follow sync_agent.client: TransientError (no answer, 5xx, 429, and the tus
answers that mean "ask the offset and go on": 409, 423, 460 on a chunk; 422 on the last
byte, FileMismatch, means "start again"),
RejectedError (will fail again), AuthError; UploadGone (404/410) means the upload
resource is no more and a new one must be created.

A request body is read from disk block by block while it is sent (FileSlice), so
memory does not grow with the chunk or the file. Timeouts measure progress, not the
length of a chunk: urllib3 bounds each `sendall` of one block by the send timeout, and
blocks are small enough (16 KiB on a slow line) to leave the PC well within it even at
4 KiB/s; the answer is awaited for the read timeout plus the time the bytes possibly
still queued on the PC need to leave at the measured speed. A link that goes silent is
noticed within those bounds, whatever the chunk size.

A HEAD answered by our server carries ``Chairside-Upload-Busy: true`` while a request
still writes the upload (an abandoned body that is still arriving): a client then waits
instead of sending a body that would only meet 423.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import threading
import zlib
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urljoin

import requests

from app.imaging.sealed import Blob
from sync_agent.client import AuthError, RejectedError, TransientError, check, unreachable

TUS_VERSION = "1.0.0"
OFFSET_TYPE = "application/offset+octet-stream"
ALREADY_STORED = "Chairside-Already-Stored"
UPLOAD_BUSY = "Chairside-Upload-Busy"
ASK_STORED = "Chairside-Ask-Stored"
CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 30.0  # a silent link is noticed within this
# A block of a request body is handed to the socket in one sendall, which the send
# timeout bounds as a whole: 16 KiB leave in 4 s at 4 KiB/s, well within it.
SEND_TIMEOUT_S = 20.0
SEND_BLOCK = 16 * 1024
BLOCK = 1024 * 1024  # reads from disk for hashing
# What may still wait in the PC's socket buffer when the last block was handed over;
# the answer's wait is lengthened by the time these need at the line's speed.
QUEUED_ALLOWANCE = 64 * 1024
SLOWEST_LINE = 4 * 1024  # bytes/s assumed while the speed is not known yet
CHECKSUMS = ("crc32", "sha256")  # Upload-Checksum algorithms we send, the first preferred


class UploadGone(RejectedError):
    """404/410: the upload resource is unknown or expired; create a new one."""


class ChecksumMismatch(TransientError):
    """460: a chunk arrived damaged; it was discarded, send it again."""


class FileMismatch(TransientError):
    """The whole file did not arrive as the declared SHA-256 says (422 on the last
    byte, or the sync API does not hold it); the upload is void: start again."""


@dataclass(frozen=True, slots=True)
class Capabilities:
    extensions: frozenset[str]
    checksums: frozenset[str]

    @property
    def algorithm(self) -> str | None:
        """The Upload-Checksum algorithm to send; None: the server checks no chunk."""
        if "checksum" not in self.extensions:
            return None
        return next((a for a in CHECKSUMS if a in self.checksums), None)

    @property
    def checksum(self) -> bool:
        return self.algorithm is not None


_capabilities: dict[str, Capabilities] = {}  # by /files/ URL: read once per server
_capabilities_lock = threading.Lock()


def _names(header: str | None) -> frozenset[str]:
    return frozenset(x.strip().lower() for x in (header or "").split(",") if x.strip())


@dataclass(frozen=True, slots=True)
class Offset:
    offset: int
    busy: bool  # a request still writes the upload on the server


@dataclass(frozen=True, slots=True)
class Created:
    url: str
    offset: int
    already_stored: bool


class FileSlice:
    """`length` bytes of an open file from `start`, as a request body: an iterable
    of blocks with a length (so requests sends a Content-Length, not chunked).

    `on_sent(n)` is called after each block is handed to the socket layer. The
    descriptor (or the image store's Blob, which decrypts a sealed file segment by
    segment) is read with pread and never moved, so one may serve several slices;
    the caller owns and closes it.
    """

    def __init__(
        self,
        fd: int | Blob,
        start: int,
        length: int,
        on_sent: Callable[[int], None] | None = None,
        block: int = SEND_BLOCK,
    ) -> None:
        self.fd, self.start, self.length = fd, start, length
        self.on_sent = on_sent
        self.block = block

    def __len__(self) -> int:
        return self.length

    def blocks(self, block: int | None = None) -> Iterator[bytes]:
        pos, end = self.start, self.start + self.length
        size = block or self.block
        while pos < end:
            n = min(size, end - pos)
            fd = self.fd
            data = os.pread(fd, n, pos) if isinstance(fd, int) else fd.read_at(pos, n)
            if not data:
                raise OSError(f"the file ended at {pos} bytes, {end} expected")
            pos += len(data)
            yield data

    def __iter__(self) -> Iterator[bytes]:
        for data in self.blocks():
            yield data
            if self.on_sent is not None:
                self.on_sent(len(data))

    def checksum(self, algorithm: str = "sha256") -> str:
        """The Upload-Checksum header value of this slice (a read of its own)."""
        if algorithm == "crc32":
            crc = 0
            for data in self.blocks(BLOCK):
                crc = zlib.crc32(data, crc)
            digest = crc.to_bytes(4, "big")
        else:
            h = hashlib.new(algorithm)
            for data in self.blocks(BLOCK):
                h.update(data)
            digest = h.digest()
        return f"{algorithm} " + base64.b64encode(digest).decode("ascii")


class ChecksumAhead:
    """The Upload-Checksum of the next chunk, computed on a worker thread while the
    current chunk is sent. A chunk's header must leave before its body, so hashing it
    when it is due costs a second pass over its bytes on the wall clock; hashlib and
    the sealed store's decryption release the GIL on large buffers, so on a PC with two
    cores that pass overlaps the send instead. A guess that misses (the chunk size
    changed, a retry resumed elsewhere) is hashed in place, as without it."""

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._next: tuple[FileSlice, str, Future[str]] | None = None

    def checksum(self, body: FileSlice, next_length: int, algorithm: str = "sha256") -> str:
        ready, self._next = self._next, None
        if ready is not None and _same(ready[0], body) and ready[1] == algorithm:
            value = ready[2].result()
        else:
            if ready is not None:
                ready[2].cancel()
            value = body.checksum(algorithm)
        if next_length > 0:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="tus-checksum")
            nxt = FileSlice(body.fd, body.start + body.length, next_length)
            self._next = (nxt, algorithm, self._pool.submit(nxt.checksum, algorithm))
        return value

    def close(self) -> None:
        self._next = None
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _same(a: FileSlice, b: FileSlice) -> bool:
    # The open file itself, not its number: a closed descriptor's number may be reused.
    return a.fd is b.fd and a.start == b.start and a.length == b.length


def encode_metadata(meta: Mapping[str, str]) -> str:
    return ",".join(
        f"{key} {base64.b64encode(value.encode('utf-8')).decode('ascii')}"
        for key, value in meta.items()
    )


def _tus_check(response: requests.Response, final: bool = False) -> requests.Response:
    status = response.status_code
    if status in (404, 410):
        raise UploadGone(status, "the upload is unknown or expired on the server")
    if status in (409, 423):
        raise TransientError("the server had more of this image than expected; asking it again")
    if status == 460:
        raise ChecksumMismatch("a part of an image arrived damaged; sending it again")
    if status == 422 and final:
        raise FileMismatch("an image arrived different from the file here; sending it again")
    if status == 403:
        # With a valid token (a bad one is 401) a 403 is about this file, e.g. a
        # patient of another installation: the file fails, the device is fine.
        try:
            check(response)
        except AuthError as exc:
            raise RejectedError(exc.status, exc.reason) from None
    return check(response)


def _offset(response: requests.Response) -> int:
    try:
        return int(response.headers["Upload-Offset"])
    except (KeyError, ValueError):
        raise TransientError("the server's answer about an image was not understood") from None


class TusClient:
    """One server's /files/ endpoint with a device token. Thread-safe as long as each
    thread uses its own client (requests.Session is not shared across threads)."""

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
        read_timeout_s: float = READ_TIMEOUT_S,
        session: requests.Session | None = None,
    ) -> None:
        self.files_url = base_url.rstrip("/") + "/files/"
        self.images_url = base_url.rstrip("/") + "/api/v1/images/"
        self.token = token
        self.timeout = (connect_timeout_s, read_timeout_s)
        self.http = session or requests.Session()
        self.ahead = ChecksumAhead()

    def close(self) -> None:
        self.http.close()
        self.ahead.close()

    def _request(
        self, method: str, url: str, headers: Mapping[str, str],
        body: FileSlice | bytes | None = None, timeout: tuple[float, float] | None = None,
    ) -> requests.Response:
        full = {"Tus-Resumable": TUS_VERSION, **headers}
        if self.token:
            full["Authorization"] = f"Bearer {self.token}"
        try:
            return self.http.request(
                method, url, headers=full, data=body, timeout=timeout or self.timeout
            )
        except requests.RequestException as exc:
            raise unreachable(exc) from None

    def capabilities(self) -> Capabilities:
        """The server's tus extensions and checksum algorithms (OPTIONS), asked once per
        server and process; a server that does not answer OPTIONS offers the core."""
        # Held across the request: upload threads starting together ask once, and the
        # others wait for that answer (at most one request's timeout, once per server).
        with _capabilities_lock:
            known = _capabilities.get(self.files_url)
            if known is not None:
                return known
            r = self._request("OPTIONS", self.files_url, {})
            if r.status_code in (200, 204):
                caps = Capabilities(_names(r.headers.get("Tus-Extension")),
                                    _names(r.headers.get("Tus-Checksum-Algorithm")))
            elif r.status_code in (404, 405):
                caps = Capabilities(frozenset(), frozenset())
            else:
                _tus_check(r)
                raise TransientError("the server did not say how it takes images; asking again")
            _capabilities[self.files_url] = caps
            return caps

    def stored(self, sha256: str) -> bool:
        """Whether the installation holds these bytes, verified (the sync API)."""
        r = self._request("HEAD", self.images_url + sha256, {})
        if r.status_code == 404:
            return False
        check(r)
        return r.status_code == 200

    def create(self, length: int, metadata: Mapping[str, str]) -> Created:
        """POST a new upload of `length` bytes; no body."""
        r = _tus_check(
            self._request(
                "POST",
                self.files_url,
                {
                    "Upload-Length": str(length),
                    "Upload-Metadata": encode_metadata(metadata),
                    ASK_STORED: "true",
                },
            )
        )
        if r.status_code != 201 or "Location" not in r.headers:
            raise TransientError("the server did not start the image upload; trying again")
        url = urljoin(self.files_url, r.headers["Location"])
        stored = r.headers.get(ALREADY_STORED, "").lower() == "true"
        offset = _offset(r) if "Upload-Offset" in r.headers else 0
        return Created(url, offset, stored and offset == length)

    def offset(self, url: str) -> int:
        """HEAD: the server's offset of the upload."""
        return self.head(url).offset

    def head(self, url: str) -> Offset:
        """HEAD: the server's offset, and whether a request still writes the upload."""
        r = _tus_check(self._request("HEAD", url, {"Cache-Control": "no-store"}))
        return Offset(_offset(r), r.headers.get(UPLOAD_BUSY, "").lower() == "true")

    def patch_timeout(self, length: int, speed: float | None) -> tuple[float, float]:
        """(send, answer) timeouts of a PATCH of `length` bytes on a line of `speed`
        bytes/s: each block must leave within the send timeout; the answer may take the
        read timeout after the bytes still queued on the PC left."""
        queued = min(length, QUEUED_ALLOWANCE)
        drain = queued / max(speed or SLOWEST_LINE, SLOWEST_LINE)
        return max(self.timeout[0], SEND_TIMEOUT_S), self.timeout[1] + drain

    def patch(
        self, url: str, body: FileSlice, *, final: bool, speed: float | None = None,
        next_length: int = 0,
    ) -> int:
        """Append `body` at its start offset; returns the server's new offset. `final`:
        this chunk ends the file, so a 460 speaks of the whole file. `speed`: the line's
        measured bytes/s, for the time the answer may take. `next_length`: the size the
        next chunk will probably have, hashed while this one is sent."""
        headers = {"Content-Type": OFFSET_TYPE, "Upload-Offset": str(body.start)}
        algorithm = self.capabilities().algorithm
        if algorithm is not None:
            headers["Upload-Checksum"] = self.ahead.checksum(body, next_length, algorithm)
        r = _tus_check(
            self._request(
                "PATCH",
                url,
                headers,
                body if len(body) else b"",
                timeout=self.patch_timeout(len(body), speed),
            ),
            final=final,
        )
        if r.status_code != 204:
            raise TransientError("the server did not take a part of an image; trying again")
        return _offset(r)

    def terminate(self, url: str) -> None:
        with contextlib.suppress(UploadGone):
            _tus_check(self._request("DELETE", url, {}))
