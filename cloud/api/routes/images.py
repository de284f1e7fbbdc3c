"""Images the installation holds, for its other PCs to fetch (bearer device token).

Only bytes that arrived whole and verified (an `images` row of the caller's
installation) are served; the client checks the SHA-256 again as it writes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path
from fastapi.responses import StreamingResponse
from sqlalchemy import select

from cloud import policy
from cloud.api.deps import BlobsDep, DeviceDep, SessionDep
from cloud.models import Image
from cloud.schemas import Problem

router = APIRouter(tags=["images"], responses={401: {"model": Problem}})
Sha256 = Annotated[str, Path(pattern="^[0-9a-f]{64}$")]
CHUNK = 1024 * 1024


@router.get(
    "/images/{sha256}",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}},
               404: {"model": Problem}},
)
def download(sha256: Sha256, device: DeviceDep, session: SessionDep,
             blobs: BlobsDep) -> StreamingResponse:
    """The bytes of an image of the caller's installation, streamed."""
    held = session.execute(
        select(Image.id).where(policy.synced_rows(policy.device(device), Image.installation_id),
                               Image.sha256 == sha256).limit(1)
    ).first()
    size = blobs.size(sha256) if held is not None else None
    if size is None:
        raise HTTPException(404, "this installation holds no such image")
    source = blobs.open(sha256)

    def chunks() -> Iterator[bytes]:
        with source:
            while block := source.read(CHUNK):
                yield block

    return StreamingResponse(chunks(), media_type="application/octet-stream",
                             headers={"Content-Length": str(size),
                                      "Chairside-SHA256": sha256})
