"""A plain streaming PUT, the baseline of bench/upload.py (only with bench_routes).

It writes a body to disk exactly as a tus PATCH does (`cloud.tus.storage.receive`:
same chunks, same encryption, same fsync cadence, same SHA-256 on the way), without
the protocol.
"""

from __future__ import annotations

import hashlib
import os

from fastapi import APIRouter, Request, Response

from cloud.api.deps import SettingsDep
from cloud.tus import storage
from cloud.tus.part_seal import PartSeal, keys_path, master_key

router = APIRouter(prefix="/bench", include_in_schema=False)


@router.put("/plain/{name}")
async def plain_put(name: str, request: Request, settings: SettingsDep) -> Response:
    folder = settings.uploads_dir
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"bench-{os.getpid()}-{name[:32].replace('/', '_')}"
    path = folder / f"{stem}.bin"
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        written, h = await storage.receive(
            request.stream(), fd, start=0, limit=2**62, h=hashlib.sha256(),
            seal=PartSeal(folder, stem, master_key(settings)))
    finally:
        os.close(fd)
        path.unlink(missing_ok=True)
        keys_path(folder, stem).unlink(missing_ok=True)
    return Response(status_code=204, headers={"X-Written": str(written),
                                              "X-Sha256": h.hexdigest()})
