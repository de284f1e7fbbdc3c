"""What the server's jobs are doing: all of them for the operator (bearer
`admin_token`; without one configured those routes do not exist, 404), a practice's
own for its PCs (device token)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from cloud import security
from cloud.api.deps import DeviceDep, SessionDep, SettingsDep
from cloud.jobs import queue
from cloud.schemas import Problem

_bearer = HTTPBearer(auto_error=False, description="The server's admin token")


def require_admin(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    if not settings.admin_token:
        raise HTTPException(404, "Not Found")
    if credentials is None or not security.same(credentials.credentials, settings.admin_token):
        raise HTTPException(401, "the server's admin token is required",
                            headers={"WWW-Authenticate": "Bearer"})


router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(require_admin)],
                   responses={401: {"model": Problem}, 404: {"model": Problem}})
Status = Literal["queued", "running", "succeeded", "failed"]


class JobOut(BaseModel):
    id: str
    kind: str
    status: str
    attempts: int
    max_attempts: int
    run_at: dt.datetime
    last_error: str
    installation_id: str | None
    schedule: str | None
    finished_at: dt.datetime | None


class JobsOut(BaseModel):
    counts: dict[str, int]
    jobs: list[JobOut]


def _out(j: queue.JobInfo) -> JobOut:
    return JobOut(**j.__dict__)


@router.get("/jobs", response_model=JobsOut)
def list_jobs(session: SessionDep, status: Annotated[Status | None, Query()] = None,
              kind: Annotated[str | None, Query(max_length=64)] = None,
              limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> JobsOut:
    """The newest jobs (filtered by status or kind) and how many there are per status."""
    return JobsOut(counts=queue.counts(session),
                   jobs=[_out(j) for j in queue.listing(session, status=status, kind=kind,
                                                        limit=limit)])


@router.get("/jobs/{job_id}", response_model=JobOut)
def get_job(session: SessionDep, job_id: Annotated[str, Path(max_length=36)]) -> JobOut:
    j = queue.get(session, job_id)
    if j is None:
        raise HTTPException(404, "no such job")
    return _out(j)


@router.post("/jobs/{job_id}/retry", response_model=JobOut,
             responses={409: {"model": Problem}})
def retry_job(request: Request, session: SessionDep,
              job_id: Annotated[str, Path(max_length=36)]) -> JobOut:
    """Run a failed job again (its attempts renewed)."""
    if not queue.retry(session, job_id):
        raise HTTPException(409 if queue.get(session, job_id) else 404,
                            "only a failed job can be retried")
    request.app.state.jobs.wake()
    j = queue.get(session, job_id)
    assert j is not None
    return _out(j)


practice_router = APIRouter(tags=["jobs"], responses={401: {"model": Problem}})


@practice_router.get("/jobs", response_model=list[JobOut])
def my_jobs(device: DeviceDep, session: SessionDep,
            status: Annotated[Status | None, Query()] = None) -> list[JobOut]:
    """The practice's own jobs (a data download being made, ...), newest first."""
    return [_out(j) for j in queue.listing(session, status=status,
                                           installation_id=device.installation_id)]
