"""The clinic's Institution window on its PCs (device token): the clinic, its settings,
and the connection requests of labs to approve or refuse. A PC speaks for the program
user signed in on it; only an administrator manages connections."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, Field

from cloud import audit
from cloud.api.deps import DeviceDep, SessionDep
from cloud.crud import DeviceCtx
from cloud.institutions import dissolution, service
from cloud.institutions.models import Institution
from cloud.portal.schemas import UUID_PATTERN

router = APIRouter(prefix="/institution", tags=["institutions"])
UserId = Annotated[str, Field(pattern=UUID_PATTERN)]


class WhoIn(BaseModel):
    user_id: UserId


class SettingsIn(WhoIn):
    auto_review: bool
    # The clinic's country (ISO 3166 two-letter code); None leaves it as it is.
    region: Annotated[str | None, Field(pattern="^[A-Za-z]{2}$")] = None


class RequestOut(BaseModel):
    id: str
    state: str
    lab_code: str
    lab_name: str
    requested_by: str
    decided_by: str
    created_at: dt.datetime
    decided_at: dt.datetime | None


class InstitutionOut(BaseModel):
    code: str
    type: str
    name: str
    region: str
    auto_review: bool
    is_admin: bool
    requests: list[RequestOut]
    dissolution: str = ""  # "", "pending" (revocable until dissolve_at) or "done"
    dissolve_at: dt.datetime | None = None


def _caller(session: SessionDep, device: DeviceCtx, user_id: str,
            request: Request) -> service.Caller:
    return service.program_user(session, device.installation_id, user_id,
                                request.client.host if request.client else "")


def _view(session: SessionDep, device: DeviceCtx, caller: service.Caller,
          practice_name: str = "") -> InstitutionOut:
    clinic = service.clinic_of(session, device.installation_id, practice_name)
    rows = service.requests_of(session, clinic, caller)
    ending = dissolution.view_of(session, clinic)
    return InstitutionOut(
        dissolution=ending.state, dissolve_at=ending.dissolve_at,
        code=clinic.code, type=clinic.type, name=clinic.name, region=clinic.region,
        auto_review=clinic.auto_review, is_admin=caller.is_admin,
        requests=[RequestOut(id=r.id, state=r.state, lab_code=r.other_code,
                             lab_name=r.other_name, requested_by=r.requested_by,
                             decided_by=r.decided_by, created_at=r.created_at,
                             decided_at=r.decided_at) for r in rows])


@router.get("", response_model=InstitutionOut)
def show(device: DeviceDep, session: SessionDep, request: Request,
         user_id: Annotated[str, Query(pattern=UUID_PATTERN)],
         practice_name: Annotated[str, Query(max_length=120)] = "") -> InstitutionOut:
    """The clinic (made on the first call, named after the practice) and its requests."""
    return _view(session, device, _caller(session, device, user_id, request), practice_name)


@router.put("/settings", response_model=InstitutionOut)
def settings(body: SettingsIn, device: DeviceDep, session: SessionDep,
             request: Request) -> InstitutionOut:
    caller = _caller(session, device, body.user_id, request)
    clinic = service.clinic_of(session, device.installation_id)
    service.set_auto_review(session, clinic, body.auto_review, caller)
    if body.region is not None and body.region.upper() != clinic.region:
        _set_region(session, clinic, body.region.upper(), caller)
    return _view(session, device, caller)


def _set_region(session: SessionDep, clinic: Institution, region: str,
                caller: service.Caller) -> None:
    """Where the clinic is: labs see it, and data never moves across a border."""
    was = clinic.region
    clinic.region = region
    session.commit()
    audit.record(session, actor=caller.actor, action="institution_settings",
                 installation_id=clinic.installation_id, target=clinic.code,
                 address=caller.address, detail=f"region {was or 'unset'} -> {region}")


@router.post("/requests/{request_id}/{answer}", response_model=InstitutionOut)
def answer(body: WhoIn, device: DeviceDep, session: SessionDep, request: Request,
           request_id: Annotated[str, PathParam(pattern=UUID_PATTERN)],
           answer: Annotated[str, PathParam(pattern="^(approve|refuse)$")]
           ) -> InstitutionOut:
    caller = _caller(session, device, body.user_id, request)
    service.decide(session, service.clinic_of(session, device.installation_id), request_id,
                   answer == "approve", caller)
    return _view(session, device, caller)
