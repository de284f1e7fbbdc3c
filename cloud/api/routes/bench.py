"""A plain streaming PUT, the baseline of bench/upload.py (only with bench_routes).

It stores a body the shortest honest way into the same sealed blob store as an
upload ends in: read from the socket, hashed (SHA-256) and sealed (the store's own
format, app.platform.sealed.SealWriter) a megabyte at a time on a worker while the next
megabyte is read, one fsync at the end, renamed into the store under its SHA-256. No
protocol, no offsets, no resume, no checksum per chunk: what a tus upload costs beyond
this is the price of being resumable.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from typing import Any

from fastapi import APIRouter, Request, Response

from app.platform import sealed
from cloud.api.deps import BlobsDep
from cloud.blobstore import FilesystemBlobStore

router = APIRouter(prefix="/bench", include_in_schema=False)
BATCH = 1024 * 1024


@router.put("/plain/{name}")
async def plain_put(name: str, request: Request, blobs: BlobsDep) -> Response:
    assert isinstance(blobs, FilesystemBlobStore) and blobs.key is not None
    stem = f"bench-{os.getpid()}-{name[:32].replace('/', '_')}"
    tmp = blobs.root / f"{stem}.tmp"
    h = hashlib.sha256()
    loop = asyncio.get_running_loop()
    written = 0
    with open(tmp, "wb") as out:
        writer = sealed.SealWriter(out, blobs.key)

        def put(data: bytes) -> None:
            h.update(data)
            writer.write(data)

        flight: Any = None
        pending: list[bytes] = []
        queued = 0
        async for data in request.stream():
            pending.append(data)
            queued += len(data)
            if queued >= BATCH:
                if flight is not None:
                    await flight
                flight = loop.run_in_executor(None, put, b"".join(pending))
                written += queued
                pending, queued = [], 0
        if flight is not None:
            await flight
        written += queued

        def finish() -> None:
            put(b"".join(pending))
            writer.close()
            out.flush()
            os.fsync(out.fileno())

        await loop.run_in_executor(None, finish)
    sha = h.hexdigest()
    dst = blobs.path(sha)
    dst.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(tmp, 0o440)
    os.replace(tmp, dst)
    return Response(status_code=204, headers={"X-Written": str(written), "X-Sha256": sha})
