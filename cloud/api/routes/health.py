"""Liveness (/healthz), readiness (/readyz: the database and the blob store answer) and
the Prometheus metrics (/metrics; with an admin token configured, only with it)."""

from __future__ import annotations

import logging
import os
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from cloud import metrics, security
from cloud.api.deps import SessionMakerDep, SettingsDep
from cloud.blobstore import BlobStore, FilesystemBlobStore, S3BlobStore

router = APIRouter(include_in_schema=False)
log = logging.getLogger("cloud.health")
_bearer = HTTPBearer(auto_error=False)


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process answers (a load balancer restarts one that does not)."""
    return {"status": "ok"}


def _blob_store(blobs: BlobStore) -> str | None:
    """None when the store can take blobs, else why not, in words."""
    if isinstance(blobs, FilesystemBlobStore):
        if not blobs.root.is_dir() or not os.access(blobs.root, os.W_OK | os.X_OK):
            return "the image folder is missing or not writable"
        return None
    if isinstance(blobs, S3BlobStore):
        try:
            blobs.client.head_bucket(Bucket=blobs.bucket)
        except Exception as exc:  # botocore's errors: any means not ready
            log.warning("readiness: the S3 bucket does not answer (%s)", type(exc).__name__)
            return "the image store (S3) does not answer"
    return None


@router.get("/readyz")
async def readyz(request: Request, maker: SessionMakerDep) -> Response:
    """Whether this process can serve: its database and its blob store answer."""
    def database() -> str | None:
        try:
            with maker() as session:
                session.execute(text("SELECT 1"))
        except Exception as exc:  # any failure to reach it means not ready
            log.warning("readiness: the database does not answer (%s)", type(exc).__name__)
            return "the database does not answer"
        return None

    problems = {"database": await run_in_threadpool(database),
                "blob_store": await run_in_threadpool(_blob_store, request.app.state.blobs)}
    checks = {name: problem or "ok" for name, problem in problems.items()}
    if any(problems.values()):
        return JSONResponse({"status": "not ready", "checks": checks}, status_code=503,
                            headers={"Retry-After": "10"})
    return JSONResponse({"status": "ready", "checks": checks})


def _scraper(settings: SettingsDep,
             credentials: Annotated[HTTPAuthorizationCredentials | None,
                                    Depends(_bearer)]) -> None:
    if settings.admin_token and (
            credentials is None
            or not security.same(credentials.credentials, settings.admin_token)):
        raise HTTPException(401, "the server's admin token is required",
                            headers={"WWW-Authenticate": "Bearer"})


@router.get("/metrics", dependencies=[Depends(_scraper)])
def prometheus(maker: SessionMakerDep) -> Response:
    body, kind = metrics.render(maker)
    return Response(body, media_type=kind)
