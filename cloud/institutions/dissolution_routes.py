"""Dissolution from a clinic PC (device token), for the program user signed in on it:
the administrator accounts a code can go to, the code, the confirmation, the revoke.
The one-time code is sent by the pluggable sender (app.state.dissolution_sender: an SMS
gateway, a test's own), by email otherwise."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from cloud.api.deps import DeviceDep, SessionDep
from cloud.export.codes import CodeSender, EmailSender
from cloud.institutions import api_routes, dissolution, service
from cloud.institutions import dissolution_job as _job  # noqa: F401 - registers the job
from cloud.portal.schemas import UUID_PATTERN

router = APIRouter(prefix="/institution/dissolution", tags=["institutions"])
UserId = Annotated[str, Field(pattern=UUID_PATTERN)]


class VerifierOut(BaseModel):
    key: str
    name: str
    sent_to: str


class CodeIn(BaseModel):
    user_id: UserId
    account: Annotated[str, Field(max_length=48)]


class CodeOut(BaseModel):
    code_id: str
    sent_to: str


class ConfirmIn(BaseModel):
    user_id: UserId
    code_id: Annotated[str, Field(max_length=36)]
    code: Annotated[str, Field(max_length=12)]


class DissolutionMail(EmailSender):
    subject = "Chairside dissolution code: {code}"
    purpose = "to dissolve the institution {practice}"
    otherwise = ("revoke the dissolution (Practice ▸ Institution, or the lab's Dissolution "
                 "page) and tell the institution's administrator")


def _sender(request: Request) -> CodeSender:
    sender = getattr(request.app.state, "dissolution_sender", None)
    return sender if sender is not None else DissolutionMail(request.app.state.settings)


def _caller(session: SessionDep, device: DeviceDep, user_id: str,
            request: Request) -> service.Caller:
    return service.program_user(session, device.installation_id, user_id,
                                request.client.host if request.client else "")


@router.get("/accounts", response_model=list[VerifierOut])
def accounts(device: DeviceDep, session: SessionDep, request: Request,
             user_id: Annotated[str, Query(pattern=UUID_PATTERN)]) -> list[VerifierOut]:
    """The administrator accounts a code can be sent to."""
    caller = _caller(session, device, user_id, request)
    clinic = service.clinic_of(session, device.installation_id)
    return [VerifierOut(key=v.key, name=v.name, sent_to=v.sent_to)
            for v in dissolution.verifiers(session, clinic, caller)]


@router.post("/code", response_model=CodeOut)
def send_code(body: CodeIn, device: DeviceDep, session: SessionDep,
              request: Request) -> CodeOut:
    caller = _caller(session, device, body.user_id, request)
    clinic = service.clinic_of(session, device.installation_id)
    code_id, where = dissolution.send_code(session, request.app.state.settings,
                                           _sender(request), clinic, caller, body.account)
    return CodeOut(code_id=code_id, sent_to=where)


@router.post("/confirm", response_model=api_routes.InstitutionOut)
def confirm(body: ConfirmIn, device: DeviceDep, session: SessionDep,
            request: Request) -> api_routes.InstitutionOut:
    caller = _caller(session, device, body.user_id, request)
    clinic = service.clinic_of(session, device.installation_id)
    dissolution.confirm(session, request.app.state.settings, clinic, caller, body.code_id,
                        body.code)
    return api_routes._view(session, device, caller)


@router.post("/revoke", response_model=api_routes.InstitutionOut)
def revoke(body: api_routes.WhoIn, device: DeviceDep, session: SessionDep,
           request: Request) -> api_routes.InstitutionOut:
    caller = _caller(session, device, body.user_id, request)
    dissolution.revoke(session, service.clinic_of(session, device.installation_id), caller)
    return api_routes._view(session, device, caller)
