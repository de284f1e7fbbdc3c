"""Images the installation holds, for its other PCs to fetch (bearer device token).

Only bytes that arrived whole and verified (an `images` row of the caller's
installation) are served; the client checks the SHA-256 again as it writes. HEAD says
whether the installation holds an image, without its bytes: an uploader asks before
creating an upload, and after sending to a tus server that could not check chunks.
The thumbnail lets a PC that joins the practice (or is restored after a failure) show
every patient's images at once and fetch a file only when it is opened.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Response
from fastapi.responses import StreamingResponse
from sqlalchemy import select

from cloud import policy
from cloud.api.deps import BlobsDep, DeviceDep, SessionDep
from cloud.models import Image
from cloud.portal.images import rendered
from cloud.schemas import Problem

router = APIRouter(tags=["images"], responses={401: {"model": Problem}})
Sha256 = Annotated[str, Path(pattern="^[0-9a-f]{64}$")]
CHUNK = 1024 * 1024


@router.head("/images/{sha256}", responses={404: {"model": Problem}})
def held(sha256: Sha256, device: DeviceDep, session: SessionDep, blobs: BlobsDep) -> Response:
    """200 with the size when the caller's installation holds these verified bytes."""
    size = _size(sha256, device, session, blobs)
    return Response(status_code=200, headers={"Content-Length": str(size),
                                              "Chairside-SHA256": sha256})


def _size(sha256: str, device: DeviceDep, session: SessionDep, blobs: BlobsDep) -> int:
    held = session.execute(
        select(Image.id).where(policy.synced_rows(policy.device(device), Image.installation_id),
                               Image.sha256 == sha256).limit(1)
    ).first()
    size = blobs.size(sha256) if held is not None else None
    if size is None:
        raise HTTPException(404, "this installation holds no such image")
    return size


@router.get(
    "/images/{sha256}",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}},
               404: {"model": Problem}},
)
def download(sha256: Sha256, device: DeviceDep, session: SessionDep,
             blobs: BlobsDep) -> StreamingResponse:
    """The bytes of an image of the caller's installation, streamed."""
    size = _size(sha256, device, session, blobs)
    source = blobs.open(sha256)

    def chunks() -> Iterator[bytes]:
        with source:
            while block := source.read(CHUNK):
                yield block

    return StreamingResponse(chunks(), media_type="application/octet-stream",
                             headers={"Content-Length": str(size),
                                      "Chairside-SHA256": sha256})


@router.get(
    "/images/{sha256}/thumbnail",
    responses={200: {"content": {"image/png": {}}}, 404: {"model": Problem},
               415: {"model": Problem}},
)
def thumbnail(sha256: Sha256, device: DeviceDep, session: SessionDep, blobs: BlobsDep,
              size: Annotated[int, Query(ge=32, le=512)] = 256) -> Response:
    """A PNG of the image scaled to fit `size` pixels; 404 when the installation does
    not hold it, 415 when it is not a picture the server draws (a 3D scan, a series,
    a very large file): the PC draws that one itself once it has the file."""
    _size(sha256, device, session, blobs)
    png = rendered(blobs, sha256, size, "PNG")
    if png is None:
        raise HTTPException(415, "no preview of this image on the server")
    return Response(png, media_type="image/png", headers={"Chairside-SHA256": sha256})
