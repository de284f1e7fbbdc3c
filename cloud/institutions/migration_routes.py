"""Data migration from the clinic's PCs (device token), for the program user signed in
on it: generate a verification code to receive another clinic's data, send this
clinic's data to another clinic with that clinic's code, and read how the migrations
went (the window polls it)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from cloud.api.deps import DeviceDep, SessionDep
from cloud.institutions import migration, service
from cloud.institutions.api_routes import WhoIn, _caller
from cloud.portal.schemas import UUID_PATTERN

router = APIRouter(prefix="/institution/migration", tags=["institutions"])


class CodeOut(BaseModel):
    code: str
    expires_at: dt.datetime


class StartIn(WhoIn):
    receiver: Annotated[str, Field(min_length=1, max_length=120)]
    code: Annotated[str, Field(min_length=1, max_length=40)]


class MigrationOut(BaseModel):
    id: str
    direction: str
    other_code: str
    other_name: str
    status: str
    status_words: str
    reason: str
    moved: int
    images: int
    requested_by: str
    created_at: dt.datetime
    finished_at: dt.datetime | None


class MigrationsOut(BaseModel):
    migrations: list[MigrationOut]


def _out(row: migration.MigrationRow) -> MigrationOut:
    return MigrationOut(id=row.id, direction=row.direction, other_code=row.other_code,
                        other_name=row.other_name, status=row.status,
                        status_words=row.status_words, reason=row.reason, moved=row.moved,
                        images=row.images, requested_by=row.requested_by,
                        created_at=row.created_at, finished_at=row.finished_at)


@router.post("/code", response_model=CodeOut)
def generate_code(body: WhoIn, device: DeviceDep, session: SessionDep,
                  request: Request) -> CodeOut:
    """A verification code for another clinic to send its data here; shown once."""
    caller = _caller(session, device, body.user_id, request)
    code, expires = migration.generate_code(
        session, service.clinic_of(session, device.installation_id), caller)
    return CodeOut(code=code, expires_at=expires)


@router.post("", response_model=MigrationOut)
def start(body: StartIn, device: DeviceDep, session: SessionDep,
          request: Request) -> MigrationOut:
    caller = _caller(session, device, body.user_id, request)
    clinic = service.clinic_of(session, device.installation_id)
    started = migration.start(session, clinic, body.receiver, body.code, caller)
    request.app.state.jobs.wake()  # the move starts now, not at the runner's next look
    return next(_out(r) for r in migration.migrations_of(session, clinic)
                if r.id == started.id)


@router.get("", response_model=MigrationsOut)
def listing(device: DeviceDep, session: SessionDep, request: Request,
            user_id: Annotated[str, Query(pattern=UUID_PATTERN)]) -> MigrationsOut:
    caller = _caller(session, device, user_id, request)
    clinic = service.clinic_of(session, device.installation_id)
    if not caller.is_admin:
        return MigrationsOut(migrations=[])
    return MigrationsOut(migrations=[_out(r) for r in migration.migrations_of(session, clinic)])
