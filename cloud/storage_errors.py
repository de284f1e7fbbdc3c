"""Storage trouble answered in words: a full disk is 507, a failing store 503, each with
Retry-After, never a bare 500.

Nothing half-written stays behind: the blob stores write to a temporary name and rename
(the temporary file removed on failure), and an upload whose last chunk arrived but
could not be stored keeps its verified part file, so that the client's next request
(an empty PATCH at the end) stores it once there is room.
"""

from __future__ import annotations

import errno
import logging
import os
from pathlib import Path
from typing import BinaryIO

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from cloud.blobstore import BlobStore, BlobStoreError

log = logging.getLogger("cloud.storage")
FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
FAILING = frozenset({errno.EIO, errno.EROFS})
FULL_RETRY_S = 300
FAILING_RETRY_S = 60
FULL_REASON = "the server's storage is full; it keeps what arrived, try again later"
FAILING_REASON = "the server's storage is not available at the moment; try again later"


def install(app: FastAPI) -> None:
    @app.exception_handler(OSError)
    async def storage_error(_request: Request, exc: OSError) -> Response:
        if exc.errno in FULL:
            log.error("storage full: %s", exc.strerror)
            return _answer(507, FULL_REASON, FULL_RETRY_S)
        if exc.errno in FAILING:
            log.error("storage failing: %s", exc.strerror)
            return _answer(503, FAILING_REASON, FAILING_RETRY_S)
        raise exc

    @app.exception_handler(BlobStoreError)
    async def store_error(_request: Request, exc: BlobStoreError) -> Response:
        log.error("blob store: %s", exc)
        return _answer(503, FAILING_REASON, FAILING_RETRY_S)


def _answer(status: int, reason: str, retry_s: int) -> Response:
    return JSONResponse({"detail": reason}, status_code=status,
                        headers={"Retry-After": str(retry_s)})


def fill_disk_while_flagged(blobs: BlobStore, flag: Path) -> None:
    """TESTS ONLY (CHAIRSIDE_CLOUD_TEST_STORAGE_FULL_FLAG): while the file `flag`
    exists, storing a blob fails as a full disk does, so that a test can fill the disk
    and free it again without root."""
    put_file, put_stream = blobs.put_file, blobs.put_stream

    def full() -> None:
        if flag.exists():
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def put_file_or_fail(sha256: str, path: Path) -> None:
        full()
        put_file(sha256, path)

    def put_stream_or_fail(sha256: str, src: BinaryIO) -> None:
        full()
        put_stream(sha256, src)

    put_sealed = getattr(blobs, "put_sealed", None)
    if put_sealed is not None:
        def put_sealed_or_fail(sha256: str, path: Path) -> bool:
            full()
            return bool(put_sealed(sha256, path))

        # A test's hook swaps this one store's methods on purpose; mypy refuses any
        # assignment to a method, which is all the ignores below are for.
        blobs.put_sealed = put_sealed_or_fail  # type: ignore[attr-defined]
    blobs.put_file = put_file_or_fail  # type: ignore[method-assign]
    blobs.put_stream = put_stream_or_fail  # type: ignore[method-assign]
