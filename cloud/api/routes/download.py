"""The data download for the desktop (Tools ▸ Data download): a clinic PC speaks for
the program user signed in on it, whose own password is checked against his synced
hash wherever it counts (scheduling, retrieving). Groups and their permissions are
managed from the Server window."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from cloud import audit
from cloud.api.deps import DeviceDep, SessionDep, SettingsDep
from cloud.export import access, service
from cloud.portal.download_routes import sender_of
from cloud.portal.schemas import UUID_PATTERN

router = APIRouter(tags=["data download"])
UserId = Annotated[str, Field(pattern=UUID_PATTERN)]
Secret = Annotated[str, Field(max_length=200)]


class WhoIn(BaseModel):
    user_id: UserId


class RequestIn(WhoIn):
    password: Secret
    run_on: dt.date


class ConfirmIn(WhoIn):
    code_id: Annotated[str, Field(max_length=36)]
    code: Annotated[str, Field(max_length=12)]


class FileIn(WhoIn):
    password: Secret
    download_id: Annotated[str, Field(max_length=36)]


class DownloadOut(BaseModel):
    id: str
    run_on: dt.date
    status: str
    size: int
    expires_at: dt.datetime | None


class StatusOut(BaseModel):
    allowed: bool
    missing: str
    first_day: dt.date
    last_day: dt.date
    keep_days: int
    downloads: list[DownloadOut]


class CodeOut(BaseModel):
    code_id: str
    sent_to: str


class GroupIn(BaseModel):
    permissions: list[Annotated[str, Field(max_length=64)]]
    # member key ("account:<id>", "user:<id>") -> the email his codes go to
    members: dict[Annotated[str, Field(max_length=48)], Annotated[str, Field(max_length=320)]]


def _addr(request: Request) -> str:
    return request.client.host if request.client else ""


@router.post("/download/status", response_model=StatusOut)
def status(body: WhoIn, device: DeviceDep, session: SessionDep) -> StatusOut:
    member = access.program_user(session, device.installation_id, body.user_id)
    allowed = access.holds(session, member)
    first = service.first_day(session, member.installation_id)
    rows = service.downloads_of(session, member) if allowed else []
    return StatusOut(allowed=allowed, missing="" if allowed else access.missing(),
                     first_day=first, last_day=first + service.LATEST,
                     keep_days=service.KEEP.days,
                     downloads=[DownloadOut(id=r.id, run_on=r.run_on, status=r.status,
                                            size=r.size, expires_at=r.expires_at)
                                for r in rows])


@router.post("/download/request", response_model=CodeOut)
def request_code(body: RequestIn, device: DeviceDep, session: SessionDep,
                 settings: SettingsDep, request: Request) -> CodeOut:
    member = access.program_user(session, device.installation_id, body.user_id)
    code_id, where = service.request_code(session, settings, sender_of(request), member,
                                          run_on=body.run_on, password=body.password,
                                          address=_addr(request))
    return CodeOut(code_id=code_id, sent_to=where)


@router.post("/download/confirm", response_model=DownloadOut)
def confirm(body: ConfirmIn, device: DeviceDep, session: SessionDep,
            settings: SettingsDep, request: Request) -> DownloadOut:
    member = access.program_user(session, device.installation_id, body.user_id)
    row = service.confirm(session, settings, member, code_id=body.code_id, code=body.code,
                          address=_addr(request))
    return DownloadOut(id=row.id, run_on=row.run_on, status=row.status, size=row.size,
                       expires_at=row.expires_at)


@router.post("/download/file")
def file(body: FileIn, device: DeviceDep, session: SessionDep, settings: SettingsDep,
         request: Request) -> FileResponse:
    member = access.program_user(session, device.installation_id, body.user_id)
    path, name = service.retrieve(session, settings, member, download_id=body.download_id,
                                  password=body.password, address=_addr(request))
    return FileResponse(path, media_type="application/zip", filename=name,
                        headers={"Cache-Control": "no-store"})


@router.get("/server/groups")
def list_groups(device: DeviceDep, session: SessionDep) -> list[dict[str, object]]:
    return access.groups(session, device.installation_id)


@router.put("/server/groups/{name}", status_code=204)
def put_group(name: Annotated[str, PathParam(max_length=100)], body: GroupIn, device: DeviceDep,
              session: SessionDep, request: Request) -> None:
    """Create or replace a group (the Server window is for the practice's admins)."""
    access.set_group(session, device.installation_id, name, body.permissions, body.members)
    audit.record(session, actor=f"device:{device.id}", action="group_changed",
                 installation_id=device.installation_id, target=name[:120],
                 address=_addr(request),
                 detail=f"permissions {','.join(body.permissions)}; members "
                        f"{','.join(sorted(body.members))}")
